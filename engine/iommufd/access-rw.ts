/** Reads and writes through an iommufd ACCESS object (`iommufd_access_rw`) for emulated devices. */

import type { Device, KernelState } from '../state.js';

export function iommufdAccessTranslate(k: KernelState, dev: Device, iova: bigint, write: boolean): { pa: number; run: bigint } | { reason: string } {
    void k; void iova; void write;
    return { reason: `${dev.name} is not opened through a VFIO container with an IOMMU driver, nor attached to an IOAS: its parent driver has nothing to translate IOVAs with` };
}
