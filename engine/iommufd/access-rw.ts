/**
 * Reads and writes through an iommufd ACCESS object (`iommufd_access_rw`), which is how an
 * emulated mdev's parent driver does the device's "DMA": the IOVA is looked up in the IOAS's
 * areas and the CPU touches the memory behind it. No area → ENOENT; an area without the needed
 * permission → EPERM.
 */

import type { Device, KernelState } from '../state.js';
import { hex } from '../u64.js';
import { iopt_pages_locate } from './pages.js';

/** Where the byte at `iova` of the device's IOAS is, and how many bytes follow contiguously. */
export function iommufdAccessTranslate(k: KernelState, dev: Device, iova: bigint, write: boolean): { pa: number; run: bigint } | { reason: string } {
    const vdev = k.vfio.devices.get(dev.name);
    const bind = vdev?.cdevBind ?? vdev?.groupIommufdBind;
    const ctx = bind ? k.iommufd.ctxs.get(bind.ctx) : undefined;
    const access = ctx?.objects.get(bind!.devid);
    if (!ctx || access?.type !== 'access') {
        return { reason: `${dev.name} is not opened through a VFIO container with an IOMMU driver, nor bound to an iommufd: its parent driver has nothing to translate IOVAs with` };
    }
    if (access.ioas === undefined) {
        return { reason: `ACCESS ${access.id} of iommufd ${ctx.id} is not attached to an IOAS (iommufd_access_rw: ENOENT)` };
    }
    const ioas = ctx.objects.get(access.ioas);
    if (ioas?.type !== 'ioas') {
        return { reason: `IOAS ${access.ioas} is gone` };
    }
    const e = ioas.iopt.areas.find(iova);
    if (!e) {
        return { reason: `no mapping at IOVA ${hex(iova)} in IOAS ${ioas.id} (iommufd_access_rw: ENOENT)` };
    }
    const area = e.value;
    if (write ? !area.write : !area.read) {
        return { reason: `the mapping [${hex(e.start)}, ${hex(e.last)}] of IOAS ${ioas.id} is not ${write ? 'WRITEABLE' : 'READABLE'} (iommufd_access_rw: EPERM)` };
    }
    const pages = ctx.pages.get(area.pages)!;
    const r = iopt_pages_locate(k, pages, area.startByte + (iova - e.start));
    if ('reason' in r) {
        return { reason: `${r.reason} behind IOVA ${hex(iova)}` };
    }
    const left = e.last - iova + 1n;
    return { pa: r.pa, run: r.run < left ? r.run : left };
}
