/**
 * The VFIO device cdev `/dev/vfio/devices/vfioN` (`drivers/vfio/device_cdev.c`): opening gives
 * an unbound fd (every ioctl but BIND_IOMMUFD is EINVAL); binding it to an iommufd makes the
 * device an iommufd DEVICE (claiming its group's DMA ownership) and blocks the legacy group
 * interface; ATTACH/DETACH_IOMMUFD_PT point its RID or a PASID at an IOAS or HWPT; closing the
 * bound fd undoes it all.
 */

import { fail } from '../errno.js';
import { allocFile, fdget } from '../fs/files.js';
import { getDevice } from '../iommu/core.js';
import { formatKernelVersion, kernelAtLeast } from '../machine/spec.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { knownBits } from '../syscalls/ioctl.js';
import type { KernelState, OpenFile, Process, VfioDevice } from '../state.js';
import { getVfioGroup } from './vfio-main.js';
import { validateVfToken, vfio_pci_vf_token_user_add } from './vfio-pci.js';
import {
    vfioHasPasidOps, vfio_iommufd_attach_ioas, vfio_iommufd_bind, vfio_iommufd_detach_ioas, vfio_iommufd_pasid_attach_ioas,
    vfio_iommufd_pasid_detach_ioas, vfio_iommufd_unbind,
} from './iommufd.js';

const CDEV_C = 'drivers/vfio/device_cdev.c';
const MAIN_C = 'drivers/vfio/vfio_main.c';
const BIND_FLAG_TOKEN = 1n;
const ATTACH_PASID = 1n;

function who(k: KernelState, vdev: VfioDevice): string {
    const dev = getDevice(k, vdev.device);
    return `${dev.devName} (${dev.name})`;
}

/**
 * `vfio_device_fops_cdev_open`: always an unbound fd (unregistering devices have no node any
 * more). The cdev nodes exist since Linux 6.6 (CONFIG_VFIO_DEVICE_CDEV).
 */
export function vfio_device_cdev_open(k: KernelState, proc: Process, vdev: VfioDevice, path: string): OpenFile {
    void proc;
    if (!kernelAtLeast(k.config.version, 6, 6)) {
        fail('ENOENT', `${path} does not exist in Linux ${formatKernelVersion(k.config.version)}: VFIO device cdevs appeared in 6.6`, 'fs/namei.c:path_openat');
    }
    const group = vdev.group >= 0 ? k.vfio.groups.get(vdev.group) : undefined;
    if (group?.type === 'noiommu') {
        // vfio_device_add: noiommu devices get no cdev node at all.
        fail('ENOENT', `${path} does not exist: noiommu devices have no VFIO cdev`, 'drivers/vfio/vfio.h:vfio_device_add');
    }
    const file = allocFile(k, 'vfio-device', path, vdev.device, 'cdev');
    vdev.files++;
    return file;
}

/**
 * The 16-byte UUID `token_uuid_ptr` points at. A step gives the memory as one element
 * `{ hi, lo }` (the UUID's first and last 8 bytes, big endian); a bare pointer stands for memory
 * the scenario did not fill (all zero).
 */
function tokenUuid(call: IoctlCall): string {
    const item = call.array('token_uuid_ptr')[0] ?? {};
    const v = (BigInt.asUintN(64, item.hi ?? 0n) << 64n) | BigInt.asUintN(64, item.lo ?? 0n);
    const h = v.toString(16).padStart(32, '0');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * `vfio_df_check_token` (6.17+): vfio-pci checks the VF token (a VF of a vfio-pci PF needs the
 * PF's token); a driver without `match_token_uuid` refuses the TOKEN flag.
 */
function checkToken(k: KernelState, vdev: VfioDevice, flags: bigint, call: IoctlCall): void {
    const dev = getDevice(k, vdev.device);
    if (dev.bus !== 'pci') {
        if (flags & BIND_FLAG_TOKEN) {
            fail('EINVAL', `${who(k, vdev)}'s driver has no VF token (no match_token_uuid)`, `${CDEV_C}:vfio_df_check_token`);
        }
        return;
    }
    let token: string | undefined;
    if (flags & BIND_FLAG_TOKEN) {
        const ptr = call.field('token_uuid_ptr');
        if (ptr === 0n) {
            fail('EFAULT', 'token_uuid_ptr is NULL: the VF token cannot be read', `${CDEV_C}:vfio_df_check_token`);
        }
        token = tokenUuid(call);
    }
    validateVfToken(k, vdev, dev, token);
}

/**
 * VFIO_DEVICE_BIND_IOMMUFD (`vfio_df_ioctl_bind_iommufd`): argsz, iommufd and flags (EINVAL),
 * cdev fds only (EINVAL), the group fd must be closed (EBUSY), one binding per fd (EINVAL), the
 * VF token, the iommufd fd (EBADF/EBADFD), one open per device (EINVAL), then the bind itself.
 */
function bindIommufd(k: KernelState, proc: Process, file: OpenFile, vdev: VfioDevice, call: IoctlCall): IoctlOut {
    const src = `${CDEV_C}:vfio_df_ioctl_bind_iommufd`;
    if (call.size < 16n) {
        fail('EINVAL', `argsz ${call.size} is smaller than 16 (offsetofend(struct vfio_device_bind_iommufd, out_devid))`, src);
    }
    const flags = call.field('flags');
    const fd = BigInt.asIntN(32, call.field('iommufd'));
    const valid = knownBits('vfio_device_bind_iommufd.flags', k);
    if (fd < 0n || flags & ~valid) {
        fail('EINVAL', fd < 0n ? `iommufd ${fd} is negative` : `flags ${flags} are not VFIO_DEVICE_BIND flags of this kernel`, src);
    }
    if (file.via !== 'cdev') {
        fail('EINVAL', 'this device fd came from VFIO_GROUP_GET_DEVICE_FD: only a cdev fd can be bound to an iommufd', src);
    }
    const group = vdev.group >= 0 ? getVfioGroup(k, vdev.group) : undefined;
    if (group?.openFile !== undefined) {
        fail('EBUSY', `/dev/vfio/${group.iommuGroup} (the group of ${who(k, vdev)}) is open: the group and cdev interfaces exclude each other`, `drivers/vfio/group.c:vfio_device_block_group`);
    }
    if (vdev.cdevBind?.file === file.id) {
        fail('EINVAL', `this fd of ${who(k, vdev)} is already bound to iommufd ${vdev.cdevBind.ctx}`, src);
    }
    if (kernelAtLeast(k.config.version, 6, 17)) {
        checkToken(k, vdev, flags, call);
    }
    const ifile = fdget(k, proc, fd, 'drivers/iommu/iommufd/main.c:iommufd_ctx_from_fd');
    if (ifile.kind !== 'iommufd') {
        fail('EBADFD', `fd ${fd} (${ifile.path}) is not an iommufd`, 'drivers/iommu/iommufd/main.c:iommufd_ctx_from_fd');
    }
    if (vdev.open_count !== 0) {
        fail('EINVAL', `${who(k, vdev)} is already open${vdev.cdevBind ? ` through another cdev fd (bound to iommufd ${vdev.cdevBind.ctx})` : ' through its group'}: a device is bound once`, `${MAIN_C}:vfio_df_open`);
    }
    const ctx = ifile.object as number;
    vdev.open_count++;
    const devid = vfio_iommufd_bind(k, vdev, ctx);
    // vfio_pci_core_finish_enable: an open VF counts as a user of its PF's VF token.
    vfio_pci_vf_token_user_add(k, vdev, 1);
    vdev.cdevBind = { ctx, devid, file: file.id };
    if (group) {
        group.cdev_device_open_cnt++;
    }
    return { out: { out_devid: BigInt(devid) } };
}

/**
 * VFIO_DEVICE_ATTACH_IOMMUFD_PT (`vfio_df_ioctl_attach_pt`): argsz and flags (EINVAL), the PASID
 * extension's argsz (EINVAL), PASID on a driver without `pasid_attach_ioas` (EOPNOTSUPP); the
 * HWPT actually attached is written back to `pt_id`.
 */
function attachPt(k: KernelState, vdev: VfioDevice, call: IoctlCall): IoctlOut {
    const src = `${CDEV_C}:vfio_df_ioctl_attach_pt`;
    const flags = call.field('flags');
    if (call.size < 12n) {
        fail('EINVAL', `argsz ${call.size} is smaller than 12 (offsetofend(struct vfio_device_attach_iommufd_pt, pt_id))`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
    }
    if (flags & ~knownBits('vfio_device_attach_iommufd_pt.flags', k)) {
        fail('EINVAL', `flags ${flags} are not VFIO_DEVICE_ATTACH flags of this kernel`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
    }
    const bind = vdev.cdevBind!;
    if (flags & ATTACH_PASID) {
        if (call.size < 16n) {
            fail('EINVAL', `argsz ${call.size} is smaller than 16: VFIO_DEVICE_ATTACH_PASID needs the pasid field`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
        }
        if (!vfioHasPasidOps(k, vdev)) {
            fail('EOPNOTSUPP', `${who(k, vdev)}'s driver cannot attach PASIDs (no pasid_attach_ioas)`, src);
        }
        const pasid = Number(BigInt.asUintN(32, call.field('pasid')));
        return { out: { pt_id: vfio_iommufd_pasid_attach_ioas(k, vdev, bind.ctx, bind.devid, pasid, call.field('pt_id')) } };
    }
    return { out: { pt_id: vfio_iommufd_attach_ioas(k, vdev, bind.ctx, bind.devid, call.field('pt_id')) } };
}

/** VFIO_DEVICE_DETACH_IOMMUFD_PT (`vfio_df_ioctl_detach_pt`): after the argument checks, always 0. */
function detachPt(k: KernelState, vdev: VfioDevice, call: IoctlCall): IoctlOut {
    const src = `${CDEV_C}:vfio_df_ioctl_detach_pt`;
    const flags = call.field('flags');
    if (call.size < 8n) {
        fail('EINVAL', `argsz ${call.size} is smaller than 8 (offsetofend(struct vfio_device_detach_iommufd_pt, flags))`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
    }
    if (flags & ~knownBits('vfio_device_detach_iommufd_pt.flags', k)) {
        fail('EINVAL', `flags ${flags} are not VFIO_DEVICE_DETACH flags of this kernel`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
    }
    const bind = vdev.cdevBind!;
    if (flags & ATTACH_PASID) {
        if (call.size < 12n) {
            fail('EINVAL', `argsz ${call.size} is smaller than 12: VFIO_DEVICE_DETACH_PASID needs the pasid field`, 'drivers/vfio/vfio_main.c:vfio_copy_user_data');
        }
        if (!vfioHasPasidOps(k, vdev)) {
            fail('EOPNOTSUPP', `${who(k, vdev)}'s driver cannot detach PASIDs (no pasid_detach_ioas)`, src);
        }
        vfio_iommufd_pasid_detach_ioas(k, vdev, bind.ctx, bind.devid, Number(BigInt.asUintN(32, call.field('pasid'))));
        return {};
    }
    vfio_iommufd_detach_ioas(k, vdev, bind.ctx, bind.devid);
    return {};
}

/**
 * The cdev part of `vfio_device_fops_unl_ioctl`: BIND on any device fd; on a cdev fd that is not
 * bound, every other ioctl is EINVAL; on a bound one ATTACH/DETACH are handled here and the rest
 * goes to the driver (undefined).
 */
export function vfioCdevIoctl(k: KernelState, proc: Process, file: OpenFile, vdev: VfioDevice, call: IoctlCall): IoctlOut | undefined {
    if (call.def.name === 'VFIO_DEVICE_BIND_IOMMUFD') {
        return bindIommufd(k, proc, file, vdev, call);
    }
    if (file.via !== 'cdev') {
        return undefined;
    }
    if (vdev.cdevBind?.file !== file.id) {
        fail('EINVAL', `this cdev fd of ${who(k, vdev)} is not bound to an iommufd yet: only VFIO_DEVICE_BIND_IOMMUFD is allowed`, `${MAIN_C}:vfio_device_fops_unl_ioctl`);
    }
    switch (call.def.name) {
        case 'VFIO_DEVICE_ATTACH_IOMMUFD_PT':
            return attachPt(k, vdev, call);
        case 'VFIO_DEVICE_DETACH_IOMMUFD_PT':
            return detachPt(k, vdev, call);
        default:
            return undefined;
    }
}

/**
 * Release of a cdev fd (`vfio_device_fops_release` → `vfio_df_unbind_iommufd`): a bound fd
 * detaches every PASID and the RID, destroys the DEVICE object (DMA ownership goes back) and
 * unblocks the group interface.
 */
export function vfioCdevRelease(k: KernelState, file: OpenFile, vdev: VfioDevice): void {
    const bind = vdev.cdevBind;
    if (!bind || bind.file !== file.id) {
        return;
    }
    vdev.cdevBind = undefined;
    vdev.open_count--;
    vfio_pci_vf_token_user_add(k, vdev, -1);
    vfio_iommufd_unbind(k, vdev, bind.ctx, bind.devid);
    if (vdev.group >= 0) {
        const group = k.vfio.groups.get(vdev.group);
        if (group) {
            group.cdev_device_open_cnt--;
        }
    }
}
