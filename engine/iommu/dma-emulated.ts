/**
 * DMA "by" an emulated mdev: there is no IOMMU behind it; its parent driver reads or writes the
 * user's memory through the VFIO container's mappings (`vfio_dma_rw`), or through an iommufd
 * ACCESS object (`iommufd_access_rw`).
 */

import type { Device, KernelState } from '../state.js';
import { hex } from '../u64.js';
import { type1EmulatedAccess } from '../vfio/type1.js';
import type { DmaResult } from './dma.js';
import { mergeSegments } from './dma.js';
import type { DmaSegment } from '../step.js';
import { iommufdAccessTranslate } from '../iommufd/access-rw.js';

export function emulatedDmaTranslate(k: KernelState, dev: Device, dir: 'read' | 'write', iova: bigint, length: bigint): DmaResult {
    const who = `${dev.name} (emulated mdev, through its parent ${dev.mdev!.parent})`;
    const vdev = k.vfio.devices.get(dev.name);
    const group = vdev ? k.vfio.groups.get(vdev.group) : undefined;
    const container = group?.container !== undefined ? k.vfio.containers.get(group.container) : undefined;
    const useType1 = container?.iommuDriver === 'type1' && vdev!.open_count > 0;
    const segments: DmaSegment[] = [];
    let cursor = iova;
    const end = iova + length;
    while (cursor < end) {
        const r = useType1
            ? type1EmulatedAccess(k, container!, cursor, dir === 'write')
            : iommufdAccessTranslate(k, dev, cursor, dir === 'write');
        if ('reason' in r) {
            return { segments, fault: { reason: 'not-pinned', iova: cursor, message: `${who}: ${r.reason}` } };
        }
        const take = r.run < end - cursor ? r.run : end - cursor;
        segments.push({ iova: cursor, length: take, pa: BigInt(r.pa), pageSize: k.config.pageSize });
        cursor += take;
    }
    void hex;
    return { segments: mergeSegments(segments) };
}
