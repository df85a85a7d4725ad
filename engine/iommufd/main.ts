/**
 * `/dev/iommu` (`drivers/iommu/iommufd/main.c`): opening makes an iommufd context; its ioctls
 * are dispatched by command (the VFIO container ones to the compat layer), with the size rules
 * of `iommufd_fops_ioctl`; IOMMU_DESTROY removes an object nobody else holds; closing the last
 * reference destroys the remaining objects leaf first. Bound devices, accesses, VFIO groups and
 * event queue fds hold the file, so the context outlives its fd while they exist.
 */

import { fail } from '../errno.js';
import { allocFile } from '../fs/files.js';
import { kernelAtLeast, formatKernelVersion } from '../machine/spec.js';
import type { KernelState, OpenFile, Process } from '../state.js';
import type { IoctlCall, IoctlOut } from '../syscalls/ioctl-call.js';
import { availableIn } from '../uapi/index.js';
import { iommufd_access_destroy } from './access.js';
import { iommufd_device_unbind, iommufd_get_hw_info } from './device.js';
import { iommufd_eventq_release, iommufd_fault_alloc, iommufd_veventq_alloc } from './eventq.js';
import {
    iommufd_hwpt_alloc, iommufd_hwpt_get_dirty_bitmap, iommufd_hwpt_invalidate, iommufd_hwpt_nested_destroy,
    iommufd_hwpt_paging_destroy, iommufd_hwpt_set_dirty_tracking,
} from './hw-pagetable.js';
import {
    iommufd_ioas_allow_iovas, iommufd_ioas_alloc_ioctl, iommufd_ioas_change_process, iommufd_ioas_copy, iommufd_ioas_destroy,
    iommufd_ioas_iova_ranges, iommufd_ioas_map, iommufd_ioas_map_file, iommufd_ioas_option, iommufd_ioas_unmap,
    iommufd_option_rlimit_mode,
} from './ioas.js';
import { checkRemovable, getCtx, objectHolders } from './object.js';
import type { IommufdCtx, IommufdObject } from './types.js';
import { iommufd_vfio_ioas, iommufd_vfio_ioctl } from './vfio-compat.js';
import { iommufd_hw_queue_alloc_ioctl, iommufd_vdevice_alloc_ioctl, iommufd_vdevice_destroy, iommufd_viommu_alloc_ioctl } from './viommu.js';

const MAIN_C = 'drivers/iommu/iommufd/main.c';

/**
 * `iommufd_fops_open`: a new, empty context; opened as the iommufd-provided `/dev/vfio/vfio` it
 * accounts pinned memory per process (MM), as VFIO does.
 */
export function iommufd_fops_open(k: KernelState, proc: Process, path: string, asVfioContainer: boolean): OpenFile {
    if (!asVfioContainer && !kernelAtLeast(k.config.version, 6, 2)) {
        fail('ENOENT', `${path} does not exist in Linux ${formatKernelVersion(k.config.version)}: iommufd appeared in 6.2`, 'fs/namei.c:path_openat');
    }
    const id = k.next.ctx++;
    const file = allocFile(k, 'iommufd', path, id);
    const ctx: IommufdCtx = {
        id, file: file.id, objects: new Map(), tombstones: new Set(), pages: new Map(), nextPages: 1, groups: new Map(),
        noIommuMode: false, accountMode: asVfioContainer ? 'mm' : 'user', vfioContainer: asVfioContainer, process: proc.name,
    };
    k.iommufd.ctxs.set(id, ctx);
    const msg = 'iommufd: IOMMUFD is providing /dev/vfio/vfio, not VFIO.';
    if (asVfioContainer && !k.log.includes(msg)) {
        k.log.push(msg);
    }
    return file;
}

/** Destroys an object (its type's `destroy` op); DEVICE and ACCESS go through their unbind. */
export function iommufd_object_destroy(k: KernelState, ctx: IommufdCtx, obj: IommufdObject): void {
    switch (obj.type) {
        case 'ioas':
            iommufd_ioas_destroy(k, ctx, obj);
            return;
        case 'hwpt_paging':
            iommufd_hwpt_paging_destroy(k, ctx, obj);
            return;
        case 'hwpt_nested':
            iommufd_hwpt_nested_destroy(k, ctx, obj);
            return;
        case 'device':
            iommufd_device_unbind(k, ctx, obj);
            return;
        case 'access':
            iommufd_access_destroy(k, ctx, obj);
            return;
        case 'vdevice':
            iommufd_vdevice_destroy(ctx, obj);
            return;
        case 'fault':
        case 'viommu':
        case 'veventq':
        case 'hw_queue':
            ctx.objects.delete(obj.id);
            return;
    }
}

/** IOMMU_DESTROY (`iommufd_destroy` → `iommufd_object_remove`). */
function iommufd_destroy(k: KernelState, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    iommufd_object_destroy(k, ctx, checkRemovable(k, ctx, call.field('id')));
    return {};
}

const OPTION_RLIMIT_MODE = 0n;
const OPTION_HUGE_PAGES = 1n;

/** IOMMU_OPTION (`iommufd_option`). */
function iommufd_option(k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall): IoctlOut {
    const src = `${MAIN_C}:iommufd_option`;
    if (call.field('__reserved') !== 0n) {
        fail('EOPNOTSUPP', '__reserved must be 0', src);
    }
    let val: bigint;
    switch (call.field('option_id')) {
        case OPTION_RLIMIT_MODE:
            val = iommufd_option_rlimit_mode(proc, ctx, call);
            break;
        case OPTION_HUGE_PAGES:
            val = iommufd_ioas_option(k, ctx, call);
            break;
        default:
            fail('EOPNOTSUPP', `option_id ${call.field('option_id')} is neither RLIMIT_MODE nor HUGE_PAGES`, src);
    }
    return { out: { val64: val } };
}

type Handler = (k: KernelState, proc: Process, ctx: IommufdCtx, call: IoctlCall) => IoctlOut;

/** `iommufd_ioctl_ops[]`. */
const HANDLERS: Readonly<Record<string, Handler>> = {
    IOMMU_DESTROY: (k, _p, ctx, call) => iommufd_destroy(k, ctx, call),
    IOMMU_IOAS_ALLOC: (_k, _p, ctx, call) => iommufd_ioas_alloc_ioctl(ctx, call),
    IOMMU_IOAS_ALLOW_IOVAS: (_k, _p, ctx, call) => iommufd_ioas_allow_iovas(ctx, call),
    IOMMU_IOAS_COPY: (k, _p, ctx, call) => iommufd_ioas_copy(k, ctx, call),
    IOMMU_IOAS_IOVA_RANGES: (_k, _p, ctx, call) => iommufd_ioas_iova_ranges(ctx, call),
    IOMMU_IOAS_MAP: (k, p, ctx, call) => iommufd_ioas_map(k, p, ctx, call),
    IOMMU_IOAS_MAP_FILE: (k, p, ctx, call) => iommufd_ioas_map_file(k, p, ctx, call),
    IOMMU_IOAS_UNMAP: (k, _p, ctx, call) => iommufd_ioas_unmap(k, ctx, call),
    IOMMU_IOAS_CHANGE_PROCESS: (k, p, ctx, call) => iommufd_ioas_change_process(k, p, ctx, call),
    IOMMU_OPTION: (k, p, ctx, call) => iommufd_option(k, p, ctx, call),
    IOMMU_VFIO_IOAS: (_k, _p, ctx, call) => iommufd_vfio_ioas(ctx, call),
    IOMMU_HWPT_ALLOC: (k, _p, ctx, call) => iommufd_hwpt_alloc(k, ctx, call),
    IOMMU_GET_HW_INFO: (k, _p, ctx, call) => iommufd_get_hw_info(k, ctx, call),
    IOMMU_HWPT_SET_DIRTY_TRACKING: (k, _p, ctx, call) => iommufd_hwpt_set_dirty_tracking(k, ctx, call),
    IOMMU_HWPT_GET_DIRTY_BITMAP: (k, _p, ctx, call) => iommufd_hwpt_get_dirty_bitmap(k, ctx, call),
    IOMMU_HWPT_INVALIDATE: (k, _p, ctx, call) => iommufd_hwpt_invalidate(k, ctx, call),
    IOMMU_FAULT_QUEUE_ALLOC: (k, p, ctx, call) => iommufd_fault_alloc(k, p, ctx, call),
    IOMMU_VIOMMU_ALLOC: (k, _p, ctx, call) => iommufd_viommu_alloc_ioctl(k, ctx, call),
    IOMMU_VDEVICE_ALLOC: (k, _p, ctx, call) => iommufd_vdevice_alloc_ioctl(k, ctx, call),
    IOMMU_VEVENTQ_ALLOC: (k, p, ctx, call) => iommufd_veventq_alloc(k, p, ctx, call),
    IOMMU_HW_QUEUE_ALLOC: (k, _p, ctx, call) => iommufd_hw_queue_alloc_ioctl(k, ctx, call),
};

/**
 * `copy_struct_from_user`: a field this kernel's struct does not have lies beyond its size;
 * non-zero bytes there are E2BIG.
 */
function checkTrailingFields(k: KernelState, call: IoctlCall): void {
    if (call.def.arg.kind !== 'struct') {
        return;
    }
    for (const f of call.def.arg.struct.fields) {
        if (f.offset >= 0 && !availableIn(f, k.config.version) && call.has(f.name) && call.field(f.name) !== 0n) {
            fail('E2BIG', `${f.name} is not part of struct ${call.def.arg.struct.name} in Linux ${formatKernelVersion(k.config.version)}: non-zero bytes beyond the kernel's struct are refused`, 'include/linux/uaccess.h:copy_struct_from_user');
        }
    }
}

/**
 * `iommufd_fops_ioctl`: VFIO container ioctls go to the compat layer; an iommufd ioctl whose
 * `size` is below its last mandatory field is EINVAL; anything else is ENOTTY. Event queue fds
 * have no ioctls.
 */
export function iommufd_fops_ioctl(k: KernelState, proc: Process, file: OpenFile, call: IoctlCall): IoctlOut {
    if (file.kind !== 'iommufd') {
        fail('ENOTTY', `${file.path} has no ioctls`, 'fs/ioctl.c:vfs_ioctl');
    }
    const ctx = getCtx(k, file.object as number);
    if (call.def.name.startsWith('VFIO_') && call.def.fileKinds.includes('iommufd')) {
        return iommufd_vfio_ioctl(k, proc, ctx, call);
    }
    const handler = HANDLERS[call.def.name];
    if (!handler || !call.def.fileKinds.includes('iommufd')) {
        fail('ENOTTY', `${call.def.name} is not an iommufd ioctl`, `${MAIN_C}:iommufd_fops_ioctl`);
    }
    if (call.def.arg.kind === 'struct' && call.size < BigInt(call.def.arg.struct.minSize)) {
        fail('EINVAL', `size ${call.size} is smaller than ${call.def.arg.struct.minSize}, the end of struct ${call.def.arg.struct.name}'s last mandatory field`, `${MAIN_C}:iommufd_fops_ioctl`);
    }
    checkTrailingFields(k, call);
    return handler(k, proc, ctx, call);
}

/**
 * `iommufd_fops_release` (the last reference of the file): every object nobody else holds is
 * destroyed, again and again until none is left. Event queue fds release their object instead.
 */
export function iommufd_fops_release(k: KernelState, file: OpenFile): void {
    if (file.kind !== 'iommufd') {
        iommufd_eventq_release(k, file);
        return;
    }
    const ctx = k.iommufd.ctxs.get(file.object as number);
    if (!ctx) {
        return;
    }
    while (ctx.objects.size > 0) {
        let destroyed = 0;
        for (const id of [...ctx.objects.keys()].sort((a, b) => a - b)) {
            const obj = ctx.objects.get(id);
            if (obj && objectHolders(k, ctx, obj).length === 0) {
                iommufd_object_destroy(k, ctx, obj);
                destroyed++;
            }
        }
        if (destroyed === 0) {
            throw new Error(`engine invariant: iommufd ${ctx.id} released with objects still holding each other`);
        }
    }
    k.iommufd.ctxs.delete(ctx.id);
}
