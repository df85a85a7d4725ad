/**
 * iommufd DEVICE objects (`drivers/iommu/iommufd/device.c`): binding a device claims its
 * group's DMA ownership for the ctx; attaching it (or one of its PASIDs) to an IOAS or a HWPT
 * switches the whole group on first attach, later devices of the group just join (adding their
 * reserved regions); replace swaps the HWPT without a blocked window; detach returns the group
 * to the blocking domain. Auto HWPTs made for an IOAS go away with their last device.
 *
 * Every attach step checks before it changes anything: the auto-domain search retries on
 * EINVAL, so a failed attempt must leave no trace.
 */

import { KernelError, fail } from '../errno.js';
import { fileGet, fput } from '../fs/files.js';
import { getDevice, getGroup, iommu_attach_group, iommu_detach_group, iommu_device_claim_dma_owner, iommu_device_release_dma_owner, iommu_group_has_isolated_msi, iommu_group_replace_domain } from '../iommu/core.js';
import { describeDomain, getDomain } from '../iommu/domain.js';
import { IOMMU_NO_PASID, iommu_attach_device_pasid, iommu_detach_device_pasid, iommu_replace_device_pasid } from '../iommu/pasid.js';
import type { Device, KernelState } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { knownBits } from '../syscalls/ioctl.js';
import { kernelAtLeast } from '../machine/spec.js';
import { hwptPut, iommufd_hwpt_paging_alloc } from './hw-pagetable.js';
import { devOwner, devResvConflict, iopt_remove_reserved_iova, iopt_table_enforce_dev_resv_regions } from './io-pagetable.js';
import { dirtyTrackingCapable, driverHwInfo, vsmmuNeedsVdevice } from './iommu-drivers.js';
import { addObject, describeObject, findHwptPaging, getAnyObject, getIdev, objectOf } from './object.js';
import type { IommufdCtx, IommufdDevice, IommufdGroup, IommufdHwptNested, IommufdHwptPaging, IommufdIoas } from './types.js';

const DEVICE_C = 'drivers/iommu/iommufd/device.c';

type Hwpt = IommufdHwptPaging | IommufdHwptNested;

function devOf(k: KernelState, idev: IommufdDevice): Device {
    return getDevice(k, idev.device);
}

function who(dev: Device): string {
    return `${dev.devName} (${dev.name})`;
}

/** `iommufd_get_group`: the ctx's per-IOMMU-group state, made on first use. */
function getIgroup(ctx: IommufdCtx, group: number): IommufdGroup {
    let g = ctx.groups.get(group);
    if (!g) {
        g = { group, attach: new Map() };
        ctx.groups.set(group, g);
    }
    return g;
}

/**
 * `iommufd_device_bind`: EINVAL without IOMMU_CAP_CACHE_COHERENCY, ENODEV without a group, EPERM
 * when MSIs are not isolated (unless `iommufd.allow_unsafe_interrupts`), then
 * `iommu_device_claim_dma_owner` (EPERM/EBUSY/EINVAL). A PASID slice is bound on its parent's
 * group without claiming it: its parent's requester ID stays with the parent's driver.
 */
export function iommufd_device_bind(k: KernelState, ctx: IommufdCtx, dev: Device): IommufdDevice {
    const src = `${DEVICE_C}:iommufd_device_bind`;
    const slice = dev.mdev?.kind === 'pasid';
    const rid = slice ? getDevice(k, dev.mdev!.parent) : dev;
    const unit = dev.iommu ? k.iommus.get(dev.iommu) : undefined;
    if (!unit || !unit.coherent) {
        fail('EINVAL', `${who(dev)}: ${unit ? `${unit.name} lacks` : 'no IOMMU gives it'} IOMMU_CAP_CACHE_COHERENCY, which iommufd requires (it always maps with IOMMU_CACHE)`, src);
    }
    if (rid.group === undefined) {
        fail('ENODEV', `${who(dev)} has no IOMMU group`, `${DEVICE_C}:iommufd_get_group`);
    }
    const group = getGroup(k, rid.group);
    if (!iommu_group_has_isolated_msi(k, group)) {
        if (!k.config.params.iommufdAllowUnsafeInterrupts) {
            fail('EPERM', `group ${group.id} of ${who(rid)}: ${unit.name} has no interrupt remapping, so MSIs are not isolated; iommufd.allow_unsafe_interrupts=1 would allow it`, src);
        }
        k.log.push(`${rid.devName}: MSI interrupts are not secure, they cannot be isolated by the platform. Check that platform features like interrupt remapping are enabled. Use the "allow_unsafe_interrupts" module parameter to override`);
    }
    if (!slice) {
        iommu_device_claim_dma_owner(k, dev, { kind: 'iommufd', ctx: ctx.id });
    }
    const idev = addObject<IommufdDevice>(ctx, (id) => ({
        id, type: 'device', device: dev.name, group: group.id, rid: rid.name, slice,
        enforceCacheCoherency: unit.enforceCoherency,
    }));
    getIgroup(ctx, group.id);
    // iommufd_ctx_get: a bound device keeps the iommufd file alive.
    fileGet(k, ctx.file);
    return idev;
}

/**
 * `iommufd_device_unbind` → `iommufd_device_destroy`: a vDEVICE still on the device is
 * force-destroyed and leaves a tombstone id; DMA ownership is released; the ctx reference goes
 * (which may release the ctx).
 */
export function iommufd_device_unbind(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice): void {
    if (idev.vdevice !== undefined && ctx.objects.has(idev.vdevice)) {
        // iommufd_device_remove_vdev → iommufd_object_tombstone_user.
        ctx.objects.delete(idev.vdevice);
        ctx.tombstones.add(idev.vdevice);
    }
    ctx.objects.delete(idev.id);
    const dev = devOf(k, idev);
    if (!idev.slice) {
        iommu_device_release_dma_owner(k, dev);
    }
    const stillBound = [...ctx.objects.values()].some((o) => o.type === 'device' && o.group === idev.group);
    const ig = ctx.groups.get(idev.group);
    if (!stillBound && ig && ig.attach.size === 0) {
        ctx.groups.delete(idev.group);
    }
    fput(k, ctx.file);
}

/** `iommufd_hwpt_compatible_device`: a VF with PRI cannot take a fault-reporting HWPT. */
function compatibleDevice(dev: Device, hwpt: Hwpt, src: string): void {
    if (hwpt.fault !== undefined && dev.pci?.physfn !== undefined && dev.pci.pri) {
        fail('EINVAL', `${who(dev)} is an SR-IOV VF with PRI: PRI is shared with its PF, so it cannot use fault-reporting HWPT ${hwpt.id}`, src);
    }
}

/** `iommufd_hwpt_pasid_compat`: PASID attachments need IOMMU_HWPT_ALLOC_PASID HWPTs, on both sides. */
function pasidCompat(ctx: IommufdCtx, igroup: IommufdGroup, hwpt: Hwpt, pasid: number, src: string): void {
    if (pasid === IOMMU_NO_PASID) {
        const other = [...igroup.attach.keys()].find((p) => p !== IOMMU_NO_PASID);
        if (!hwpt.pasidCompat && other !== undefined) {
            fail('EINVAL', `group ${igroup.group} has PASID ${other} attached, so its RID needs a HWPT allocated with IOMMU_HWPT_ALLOC_PASID; HWPT ${hwpt.id} was not`, src);
        }
        return;
    }
    if (!hwpt.pasidCompat) {
        // An auto HWPT (or one being made for this attach, not yet on its IOAS) has flags 0.
        const auto = hwpt.type === 'hwpt_paging' && (hwpt.auto || !objectOf<IommufdIoas>(ctx, hwpt.ioas, 'ioas').hwpts.includes(hwpt.id));
        fail('EINVAL', `HWPT ${hwpt.id} was not allocated with IOMMU_HWPT_ALLOC_PASID: it cannot be attached to a PASID${auto ? ' (an IOAS id gets an auto HWPT allocated with flags 0)' : ''}`, src);
    }
    const ridAttach = igroup.attach.get(IOMMU_NO_PASID);
    const ridHwpt = ridAttach ? ctx.objects.get(ridAttach.hwpt) : undefined;
    if (ridHwpt && (ridHwpt.type === 'hwpt_paging' || ridHwpt.type === 'hwpt_nested') && !ridHwpt.pasidCompat) {
        fail('EINVAL', `the RID of group ${igroup.group} is attached to HWPT ${ridHwpt.id}, which was not allocated with IOMMU_HWPT_ALLOC_PASID: no PASID can be attached beside it`, src);
    }
}

/** The driver-side checks of a HWPT's attach that are not the core's (fault needs PRI, vSTE needs a vDEVICE). */
function driverAttachChecks(k: KernelState, ctx: IommufdCtx, hwpt: Hwpt, idev: IommufdDevice, rid: Device): void {
    if (hwpt.fault !== undefined && !(rid.pci?.pri && rid.pci.ats)) {
        fail('ENODEV', `${who(rid)} has no PRI (with ATS): it cannot take page faults through HWPT ${hwpt.id}'s fault queue`, 'drivers/iommu/intel/iommu.c:intel_iommu_enable_iopf');
    }
    if (hwpt.type === 'hwpt_nested' && hwpt.viommu !== undefined) {
        const domain = getDomain(k, hwpt.domain);
        if (domain.kind === 'arm-smmu-v3' && !vsmmuNeedsVdevice(ctx, idev, hwpt.viommu)) {
            fail('ENOENT', `${who(rid)} has no vDEVICE on vIOMMU ${hwpt.viommu}: a vSTE needs the device's virtual SID (IOMMU_VDEVICE_ALLOC first)`, 'drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3-iommufd.c:arm_smmu_attach_prepare_vmaster');
        }
    }
}

/**
 * `iommufd_hwpt_attach_device`: the hardware attach of the group's first device on this pasid.
 * Each step below either throws before changing anything or completes.
 */
function hwptAttachDevice(k: KernelState, ctx: IommufdCtx, igroup: IommufdGroup, hwpt: Hwpt, idev: IommufdDevice, pasid: number): void {
    const src = `${DEVICE_C}:iommufd_hwpt_attach_device`;
    const dev = devOf(k, idev);
    const rid = getDevice(k, idev.rid);
    compatibleDevice(dev, hwpt, src);
    pasidCompat(ctx, igroup, hwpt, pasid, `${DEVICE_C}:iommufd_hwpt_pasid_compat`);
    driverAttachChecks(k, ctx, hwpt, idev, rid);
    if (pasid === IOMMU_NO_PASID) {
        iommu_attach_group(k, hwpt.domain, idev.group);
    } else {
        iommu_attach_device_pasid(k, hwpt.domain, rid, pasid, { kind: 'iommufd', ctx: ctx.id });
    }
}

function slicesHaveNoRid(k: KernelState, idev: IommufdDevice, src: string): void {
    const dev = devOf(k, idev);
    const parent = getDevice(k, idev.rid);
    fail('EINVAL', `${who(dev)} is a PASID slice of ${who(parent)}: it has no requester ID of its own, only PASIDs on its parent's (a RID attach is IOMMU_NO_PASID, which iommu_attach_device_pasid refuses)`, src);
}

/**
 * `iommufd_hw_pagetable_attach`: EBUSY if this device already has this pasid attached, EINVAL
 * if its group is attached to another HWPT on it, EADDRINUSE if its reserved regions meet the
 * IOAS's mappings or allowed ranges (RID only); the group's first device does the hardware
 * attach, later ones join.
 */
export function iommufd_hw_pagetable_attach(k: KernelState, ctx: IommufdCtx, hwpt: Hwpt, idev: IommufdDevice, pasid: number): void {
    const src = `${DEVICE_C}:iommufd_hw_pagetable_attach`;
    const igroup = getIgroup(ctx, idev.group);
    const attach = igroup.attach.get(pasid);
    const dev = devOf(k, idev);
    const on = pasid === IOMMU_NO_PASID ? 'its RID' : `PASID ${pasid}`;
    if (attach?.devices.includes(idev.id)) {
        fail('EBUSY', `${describeObject(k, idev)} already has ${on} attached (to HWPT ${attach.hwpt})`, src);
    }
    if (attach && attach.hwpt !== hwpt.id) {
        const first = ctx.objects.get(attach.devices[0]!);
        fail('EINVAL', `group ${igroup.group} has ${on} attached to HWPT ${attach.hwpt}${first ? ` (by ${describeObject(k, first)})` : ''}: every device of an IOMMU group must use the same HWPT, not HWPT ${hwpt.id}`, src);
    }
    if (pasid === IOMMU_NO_PASID && idev.slice) {
        slicesHaveNoRid(k, idev, src);
    }
    const paging = findHwptPaging(ctx, hwpt);
    const ioas = objectOf<IommufdIoas>(ctx, paging.ioas, 'ioas');
    const attachResv = pasid === IOMMU_NO_PASID;
    if (attachResv) {
        const why = devResvConflict(k, ioas.iopt, dev);
        if (why) {
            fail('EADDRINUSE', `${who(dev)}'s reserved region ${why} in IOAS ${ioas.id}`, 'drivers/iommu/iommufd/io_pagetable.c:iopt_table_enforce_dev_resv_regions');
        }
    }
    if (!attach) {
        hwptAttachDevice(k, ctx, igroup, hwpt, idev, pasid);
    }
    if (attachResv) {
        iopt_table_enforce_dev_resv_regions(k, ioas.iopt, dev);
    }
    if (attach) {
        attach.devices.push(idev.id);
    } else {
        igroup.attach.set(pasid, { hwpt: hwpt.id, devices: [idev.id] });
    }
}

/**
 * `iommufd_hw_pagetable_detach`: the group's last device on the pasid detaches the hardware
 * (RID → blocking domain, PASID → cleared); the device's reserved regions leave the IOAS.
 * Returns the HWPT it was on, whose reference the caller drops.
 */
function hwPagetableDetach(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number): number | undefined {
    const igroup = ctx.groups.get(idev.group);
    const attach = igroup?.attach.get(pasid);
    if (!igroup || !attach || !attach.devices.includes(idev.id)) {
        return undefined;
    }
    const hwpt = ctx.objects.get(attach.hwpt) as Hwpt;
    attach.devices = attach.devices.filter((d) => d !== idev.id);
    if (attach.devices.length === 0) {
        if (pasid === IOMMU_NO_PASID) {
            iommu_detach_group(k, idev.group);
        } else {
            iommu_detach_device_pasid(k, getDevice(k, idev.rid), pasid);
        }
        igroup.attach.delete(pasid);
    }
    if (pasid === IOMMU_NO_PASID) {
        const ioas = objectOf<IommufdIoas>(ctx, findHwptPaging(ctx, hwpt).ioas, 'ioas');
        iopt_remove_reserved_iova(ioas.iopt, devOwner(devOf(k, idev)));
    }
    return hwpt.id;
}

/**
 * `iommufd_device_do_replace`: EINVAL when this device has nothing attached on the pasid; the
 * same HWPT is a no-op; otherwise the group's reserved regions move to the new IOAS
 * (EADDRINUSE) and the hardware switches without a blocked window. Returns the old HWPT.
 */
function doReplace(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number, hwpt: Hwpt): number | undefined {
    const src = `${DEVICE_C}:iommufd_device_do_replace`;
    const igroup = getIgroup(ctx, idev.group);
    const attach = igroup.attach.get(pasid);
    const on = pasid === IOMMU_NO_PASID ? 'its RID' : `PASID ${pasid}`;
    if (!attach || !attach.devices.includes(idev.id)) {
        fail('EINVAL', `${describeObject(k, idev)} has nothing attached on ${on} to replace`, src);
    }
    if (attach.hwpt === hwpt.id) {
        return undefined;
    }
    const old = ctx.objects.get(attach.hwpt) as Hwpt;
    const newIoas = objectOf<IommufdIoas>(ctx, findHwptPaging(ctx, hwpt).ioas, 'ioas');
    const oldIoas = objectOf<IommufdIoas>(ctx, findHwptPaging(ctx, old).ioas, 'ioas');
    const moveResv = pasid === IOMMU_NO_PASID && newIoas.id !== oldIoas.id;
    const members = attach.devices.map((d) => devOf(k, objectOf<IommufdDevice>(ctx, d, 'device')));
    if (moveResv) {
        for (const d of members) {
            const why = devResvConflict(k, newIoas.iopt, d);
            if (why) {
                fail('EADDRINUSE', `${who(d)}'s reserved region ${why} in IOAS ${newIoas.id}`, 'drivers/iommu/iommufd/io_pagetable.c:iopt_table_enforce_dev_resv_regions');
            }
        }
    }
    // iommufd_hwpt_replace_device
    const rsrc = `${DEVICE_C}:iommufd_hwpt_replace_device`;
    const rid = getDevice(k, idev.rid);
    compatibleDevice(devOf(k, idev), hwpt, rsrc);
    pasidCompat(ctx, igroup, hwpt, pasid, `${DEVICE_C}:iommufd_hwpt_pasid_compat`);
    driverAttachChecks(k, ctx, hwpt, idev, rid);
    if (pasid === IOMMU_NO_PASID) {
        iommu_group_replace_domain(k, idev.group, hwpt.domain);
    } else {
        iommu_replace_device_pasid(k, hwpt.domain, rid, pasid, { kind: 'iommufd', ctx: ctx.id });
    }
    if (moveResv) {
        for (const d of members) {
            iopt_table_enforce_dev_resv_regions(k, newIoas.iopt, d);
            iopt_remove_reserved_iova(oldIoas.iopt, devOwner(d));
        }
    }
    attach.hwpt = hwpt.id;
    return old.id;
}

type Mode = 'attach' | 'replace';

/**
 * `iommufd_device_auto_get_domain`: every auto HWPT of the IOAS is tried in creation order
 * (EINVAL means "incompatible, try the next", any other error is returned); none fits → a new
 * HWPT_PAGING with flags 0, attached before it is filled (attach) or filled before the switch
 * (replace). Manually allocated HWPTs are never picked.
 */
function autoGetDomain(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number, ioas: IommufdIoas, mode: Mode): { pt: number; old?: number } {
    for (const id of [...ioas.hwpts]) {
        const h = objectOf<IommufdHwptPaging>(ctx, id, 'hwpt_paging');
        if (!h.auto) {
            continue;
        }
        try {
            if (mode === 'attach') {
                iommufd_hw_pagetable_attach(k, ctx, h, idev, pasid);
                return { pt: id };
            }
            return { pt: id, old: doReplace(k, ctx, idev, pasid, h) };
        } catch (e) {
            if (e instanceof KernelError && e.errno === 'EINVAL') {
                continue;
            }
            throw e;
        }
    }
    const h = iommufd_hwpt_paging_alloc(k, ctx, ioas, idev, pasid, 0n, mode === 'attach', undefined);
    const old = mode === 'replace' ? doReplace(k, ctx, idev, pasid, h) : undefined;
    h.auto = true;
    return { pt: h.id, old };
}

/** `iommufd_device_change_pt`: the pt_id is a HWPT (attach it) or an IOAS (auto domain). */
function changePt(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number, ptId: bigint, mode: Mode): number {
    const src = `${DEVICE_C}:iommufd_device_change_pt`;
    const pt = getAnyObject(ctx, ptId, 'pt_id', src);
    let result: { pt: number; old?: number };
    switch (pt.type) {
        case 'hwpt_paging':
        case 'hwpt_nested':
            if (mode === 'attach') {
                iommufd_hw_pagetable_attach(k, ctx, pt, idev, pasid);
                result = { pt: pt.id };
            } else {
                result = { pt: pt.id, old: doReplace(k, ctx, idev, pasid, pt) };
            }
            break;
        case 'ioas':
            result = autoGetDomain(k, ctx, idev, pasid, pt, mode);
            break;
        default:
            fail('EINVAL', `pt_id ${ptId} is ${describeObject(k, pt)}, neither an IOAS nor a HWPT`, src);
    }
    if (result.old !== undefined) {
        hwptPut(k, ctx, result.old);
    }
    return result.pt;
}

/** `iommufd_device_attach`: returns the HWPT id actually attached. */
export function iommufd_device_attach(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number, ptId: bigint): number {
    return changePt(k, ctx, idev, pasid, ptId, 'attach');
}

/** `iommufd_device_replace`. */
export function iommufd_device_replace(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number, ptId: bigint): number {
    return changePt(k, ctx, idev, pasid, ptId, 'replace');
}

/** `iommufd_device_detach`: a no-op when nothing is attached. */
export function iommufd_device_detach(k: KernelState, ctx: IommufdCtx, idev: IommufdDevice, pasid: number): void {
    const hwpt = hwPagetableDetach(k, ctx, idev, pasid);
    if (hwpt !== undefined) {
        hwptPut(k, ctx, hwpt);
    }
}

/** The HWPT a device has attached on a pasid (for views and VFIO). */
export function attachedHwpt(ctx: IommufdCtx, idev: IommufdDevice, pasid: number): number | undefined {
    const attach = ctx.groups.get(idev.group)?.attach.get(pasid);
    return attach?.devices.includes(idev.id) ? attach.hwpt : undefined;
}

const HW_INFO_FLAG_INPUT_TYPE = 1n;
const HW_CAP_DIRTY_TRACKING = 1n;
const HW_CAP_PCI_ATS_NOT_SUPPORTED = 8n;

/**
 * IOMMU_GET_HW_INFO (`iommufd_get_hw_info`): the driver's info (truncated to the user's
 * `data_len`, which is set to the kernel's length), capabilities and PASID width.
 */
export function iommufd_get_hw_info(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${DEVICE_C}:iommufd_get_hw_info`;
    const flags = call.field('flags');
    const supported = knownBits('iommufd_hw_info_flags', k);
    if (flags & ~supported) {
        fail('EOPNOTSUPP', `flags ${flags} has bits this kernel does not know (supported: ${supported})`, src);
    }
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    const inType = flags & HW_INFO_FLAG_INPUT_TYPE ? call.field('in_data_type') : 0n;
    const idev = getIdev(ctx, call.field('dev_id'), src);
    const dev = devOf(k, idev);
    const unit = k.iommus.get(dev.iommu!)!;
    const info = driverHwInfo(k, unit, inType);
    const userLen = call.field('data_len');
    const copyLen = userLen < BigInt(info.length) ? userLen : BigInt(info.length);
    const extra: Record<string, { value: bigint }> = {};
    for (const f of info.fields) {
        if (BigInt(f.offset + f.size) <= copyLen && !f.name.startsWith('__')) {
            extra[`data.${f.name}`] = { value: f.value };
        }
    }
    let caps = 0n;
    if (kernelAtLeast(k.config.version, 6, 7) && dirtyTrackingCapable(unit)) {
        caps |= HW_CAP_DIRTY_TRACKING;
    }
    if (kernelAtLeast(k.config.version, 7, 0) && !getDevice(k, idev.rid).pci?.ats) {
        caps |= HW_CAP_PCI_ATS_NOT_SUPPORTED;
    }
    // PASID_EXEC / PASID_PRIV come from the device's PASID control register, which the engine
    // does not model: they read as 0.
    const maxPasidLog2 = kernelAtLeast(k.config.version, 6, 15) && dev.maxPasids > 0 ? BigInt(Math.log2(dev.maxPasids)) : 0n;
    return {
        out: { data_len: BigInt(info.length), out_data_type: info.type, out_capabilities: caps, out_max_pasid_log2: maxPasidLog2 },
        extra,
    };
}

export { describeDomain };
