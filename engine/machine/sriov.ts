/**
 * SR-IOV virtual functions as `drivers/pci/iov.c` creates them (`sriov_enable` →
 * `pci_iov_add_virtfn`).
 *
 * Routing IDs: VF n of a PF has RID = PF RID + First VF Offset + n * VF Stride
 * (`pci_iov_virtfn_bus`, `pci_iov_virtfn_devfn`). The machine language does not carry a PF's
 * SR-IOV capability registers, so the engine uses these defaults:
 * - VF Stride 1;
 * - First VF Offset 0x80 for function 0 (VFs of a PF at 02:00.0 start at 02:10.0, as on Intel
 *   82599/X540 NICs), plus 0x3f per function number, so that each PF of a multi-port card gets
 *   its own block of 64 routing IDs (02:00.1's VFs start at 02:18.0, 02:00.2's at 03:00.0).
 * RIDs past devfn 255 land on the next bus numbers: `virtfn_add_bus` creates those buses with no
 * bridge (`bus->self == NULL`), which is what `virtualBus` records.
 */

import type { PciDev } from '../state.js';
import type { Bdf } from './spec.js';
import { formatBdf } from './spec.js';
import type { EnumeratedDevice } from './topology.js';

/** VF Stride the engine gives every PF. */
export const SRIOV_VF_STRIDE = 1;

/** First VF Offset of a PF (see the module comment). */
export function sriovFirstVfOffset(pf: PciDev): number {
    return 0x80 + 0x3f * pf.bdf.fn;
}

function virtfnRid(pf: PciDev, vfId: number): number {
    const pfRid = (pf.bdf.bus << 8) | (pf.bdf.device << 3) | pf.bdf.fn;
    return pfRid + sriovFirstVfOffset(pf) + SRIOV_VF_STRIDE * vfId;
}

/** `pci_iov_virtfn_bus()`. */
export function pci_iov_virtfn_bus(pf: PciDev, vfId: number): number {
    return virtfnRid(pf, vfId) >> 8;
}

/** `pci_iov_virtfn_devfn()`. */
export function pci_iov_virtfn_devfn(pf: PciDev, vfId: number): number {
    return virtfnRid(pf, vfId) & 0xff;
}

/** The address of VF `vfId` of `pf`. */
export function virtfnBdf(pf: PciDev, vfId: number): Bdf {
    const devfnValue = pci_iov_virtfn_devfn(pf, vfId);
    return { segment: pf.bdf.segment, bus: pci_iov_virtfn_bus(pf, vfId), device: devfnValue >> 3, fn: devfnValue & 7 };
}

/**
 * The VFs `sriov DEV numvfs N` creates, in the order Linux adds them (`sriov_add_vfs`: VF 0
 * first). Names are `<pf>.vf0`...; each VF:
 * - is not multifunction (`pci_iov_add_virtfn` clears it), so no VF shares a group through the
 *   function search;
 * - copies the PF's vendor, device ID (the real VF Device ID is not in the machine language),
 *   class and PCIe type, its ATS/PRI support and its PASID width (`pci_max_pasids` reads the PF);
 * - has no ACS capability, no DMA alias quirks, FLR as reset (VFs must implement FLR);
 * - sits on the PF's bus (same `bus->self`) or on a virtual bus above it (no `self`).
 * The caller checks `numvfs` against TotalVFs and the addresses against existing functions.
 */
export function virtfnDevices(pfName: string, pf: PciDev, pfIommu: string | undefined, numvfs: number): EnumeratedDevice[] {
    const vfs: EnumeratedDevice[] = [];
    for (let id = 0; id < numvfs; id++) {
        const bdf = virtfnBdf(pf, id);
        const virtualBus = bdf.bus !== pf.bdf.bus;
        const pci: PciDev = {
            bdf,
            type: pf.type,
            vendor: pf.vendor,
            deviceId: pf.deviceId,
            className: pf.className,
            multifunction: false,
            upstream: virtualBus ? undefined : pf.upstream,
            physfn: pfName,
            vfIndex: id,
            virtualBus: virtualBus ? true : undefined,
            pasidWidth: pf.pasidWidth,
            ats: pf.ats,
            pri: pf.pri,
            dmaAliasDevfns: [],
            resets: ['flr'],
            requireDirect: false,
        };
        const devName = formatBdf(bdf);
        vfs.push({ name: `${pfName}.vf${id}`, devName, pci, iommu: pfIommu, driver: null, noSnoop: false });
    }
    return vfs;
}
