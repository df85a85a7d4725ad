/**
 * The object table of an iommufd context (`drivers/iommu/iommufd/main.c`): ids from an xarray
 * (lowest free id ≥ 1, reused after destroy), typed lookups (`iommufd_get_object` → ENOENT),
 * and who still holds an object, which decides whether userspace may destroy it.
 */

import { fail } from '../errno.js';
import type { KernelState } from '../state.js';
import type {
    IommufdCtx, IommufdDevice, IommufdFault, IommufdHwptNested, IommufdHwptPaging, IommufdIoas, IommufdObject,
    IommufdObjectType, IommufdViommu,
} from './types.js';

const MAIN_C = 'drivers/iommu/iommufd/main.c';

/** Kernel names of the object types, for reasons. */
export const OBJ_NAME: Readonly<Record<IommufdObjectType, string>> = {
    ioas: 'IOAS',
    hwpt_paging: 'HWPT',
    hwpt_nested: 'nested HWPT',
    device: 'DEVICE',
    access: 'ACCESS',
    fault: 'FAULT',
    viommu: 'vIOMMU',
    vdevice: 'vDEVICE',
    veventq: 'vEVENTQ',
    hw_queue: 'HW queue',
};

export function getCtx(k: KernelState, id: number): IommufdCtx {
    const ctx = k.iommufd.ctxs.get(id);
    if (!ctx) {
        throw new Error(`engine invariant: iommufd ctx ${id} does not exist`);
    }
    return ctx;
}

/** "IOAS 2", "HWPT 3 (auto)", "DEVICE 1 (0000:01:00.0 nvme0)". */
export function describeObject(k: KernelState, obj: IommufdObject): string {
    switch (obj.type) {
        case 'hwpt_paging':
            return `HWPT ${obj.id}${obj.auto ? ' (auto)' : ''}`;
        case 'device':
        case 'access': {
            const dev = k.devices.get(obj.device);
            return `${OBJ_NAME[obj.type]} ${obj.id} (${dev ? `${dev.devName} ${dev.name}` : obj.device})`;
        }
        default:
            return `${OBJ_NAME[obj.type]} ${obj.id}`;
    }
}

/**
 * `xa_alloc` over [1, 2^31 - 1]: the lowest id neither used nor a vDEVICE tombstone. The id is
 * taken at once (as `_iommufd_object_alloc` reserves it); a call that then fails is discarded
 * whole, which releases it.
 */
export function allocObjectId(ctx: IommufdCtx): number {
    let id = 1;
    while (ctx.objects.has(id) || ctx.tombstones.has(id)) {
        id++;
    }
    return id;
}

/** Adds an object under a fresh id (`iommufd_object_alloc` + `iommufd_object_finalize`). */
export function addObject<T extends IommufdObject>(ctx: IommufdCtx, make: (id: number) => T): T {
    const obj = make(allocObjectId(ctx));
    ctx.objects.set(obj.id, obj);
    return obj;
}

/** `iommufd_get_object(ictx, id, IOMMUFD_OBJ_ANY)`. */
export function getAnyObject(ctx: IommufdCtx, id: bigint, what: string, src: string): IommufdObject {
    const obj = id > 0n && id <= 0xffff_ffffn ? ctx.objects.get(Number(id)) : undefined;
    if (!obj) {
        fail('ENOENT', `${what} ${id} is not an object of iommufd ${ctx.id}${ctx.tombstones.has(Number(id)) ? ' (its vDEVICE was destroyed with its device: the id is a tombstone)' : ''}`, src);
    }
    return obj;
}

function typed<T extends IommufdObject>(ctx: IommufdCtx, id: bigint, type: T['type'], what: string, src: string): T {
    const obj = id > 0n && id <= 0xffff_ffffn ? ctx.objects.get(Number(id)) : undefined;
    if (!obj || obj.type !== type) {
        const is = obj ? ` (it is ${OBJ_NAME[obj.type]} ${obj.id})` : ' (no such object)';
        fail('ENOENT', `${what} ${id} is not ${/^[aeiou]/i.test(OBJ_NAME[type]) ? 'an' : 'a'} ${OBJ_NAME[type]} of iommufd ${ctx.id}${is}`, src);
    }
    return obj as T;
}

/** `iommufd_get_ioas`. */
export function getIoas(ctx: IommufdCtx, id: bigint, src: string, what = 'ioas_id'): IommufdIoas {
    return typed<IommufdIoas>(ctx, id, 'ioas', what, src);
}

/** `iommufd_get_device`. */
export function getIdev(ctx: IommufdCtx, id: bigint, src: string, what = 'dev_id'): IommufdDevice {
    return typed<IommufdDevice>(ctx, id, 'device', what, src);
}

/** `iommufd_get_hwpt_paging`. */
export function getHwptPaging(ctx: IommufdCtx, id: bigint, src: string, what = 'hwpt_id'): IommufdHwptPaging {
    return typed<IommufdHwptPaging>(ctx, id, 'hwpt_paging', what, src);
}

/** `iommufd_get_fault`. */
export function getFault(ctx: IommufdCtx, id: bigint, src: string, what = 'fault_id'): IommufdFault {
    return typed<IommufdFault>(ctx, id, 'fault', what, src);
}

/** `iommufd_get_viommu`. */
export function getViommu(ctx: IommufdCtx, id: bigint, src: string, what = 'viommu_id'): IommufdViommu {
    return typed<IommufdViommu>(ctx, id, 'viommu', what, src);
}

export function objectOf<T extends IommufdObject>(ctx: IommufdCtx, id: number, type: T['type']): T {
    const obj = ctx.objects.get(id);
    if (!obj || obj.type !== type) {
        throw new Error(`engine invariant: iommufd ${ctx.id} object ${id} is not a ${type}`);
    }
    return obj as T;
}

/** The HWPT_PAGING a HWPT's IOAS mappings come from (`find_hwpt_paging`). */
export function findHwptPaging(ctx: IommufdCtx, hwpt: IommufdHwptPaging | IommufdHwptNested): IommufdHwptPaging {
    return hwpt.type === 'hwpt_paging' ? hwpt : objectOf<IommufdHwptPaging>(ctx, hwpt.parent, 'hwpt_paging');
}

/** Devices attached to a HWPT, as `DEVICE n (...) on pasid p` strings. */
function attachedTo(k: KernelState, ctx: IommufdCtx, hwptId: number): string[] {
    const out: string[] = [];
    for (const g of ctx.groups.values()) {
        for (const [pasid, att] of g.attach) {
            if (att.hwpt !== hwptId) {
                continue;
            }
            for (const d of att.devices) {
                const idev = ctx.objects.get(d);
                const name = idev ? describeObject(k, idev) : `DEVICE ${d}`;
                out.push(pasid === 0 ? `${name} is attached to it` : `${name} has PASID ${pasid} attached to it`);
            }
        }
    }
    return out;
}

/**
 * What holds the object besides the xarray (its `users` references), in words; empty when
 * userspace may destroy it. Mirrors who takes `refcount_inc(&obj->users)` in each file.
 */
export function objectHolders(k: KernelState, ctx: IommufdCtx, obj: IommufdObject): string[] {
    const out: string[] = [];
    const others = [...ctx.objects.values()];
    switch (obj.type) {
        case 'ioas':
            for (const o of others) {
                if (o.type === 'hwpt_paging' && o.ioas === obj.id) {
                    out.push(`${describeObject(k, o)} maps it`);
                }
                if (o.type === 'access' && o.ioas === obj.id) {
                    out.push(`${describeObject(k, o)} uses it`);
                }
            }
            break;
        case 'hwpt_paging':
            out.push(...attachedTo(k, ctx, obj.id));
            for (const o of others) {
                if (o.type === 'hwpt_nested' && o.parent === obj.id && o.viommu === undefined) {
                    out.push(`${describeObject(k, o)} is nested on it`);
                }
                if (o.type === 'viommu' && o.hwpt === obj.id) {
                    out.push(`${describeObject(k, o)} uses it as its parent`);
                }
            }
            break;
        case 'hwpt_nested':
            out.push(...attachedTo(k, ctx, obj.id));
            break;
        case 'device':
            out.push('the VFIO driver holds it until the device fd is closed (iommufd_device_unbind)');
            break;
        case 'access':
            out.push('the VFIO driver of the emulated device holds it until its fd is closed (iommufd_access_destroy)');
            break;
        case 'fault':
            if (obj.fileOpen) {
                out.push('its fault queue fd is open');
            }
            for (const o of others) {
                if ((o.type === 'hwpt_paging' || o.type === 'hwpt_nested') && o.fault === obj.id) {
                    out.push(`${describeObject(k, o)} reports its faults to it`);
                }
            }
            break;
        case 'viommu':
            for (const o of others) {
                if ((o.type === 'vdevice' || o.type === 'veventq' || o.type === 'hw_queue') && o.viommu === obj.id) {
                    out.push(`${describeObject(k, o)} belongs to it`);
                }
                if (o.type === 'hwpt_nested' && o.viommu === obj.id) {
                    out.push(`${describeObject(k, o)} is allocated on it`);
                }
            }
            break;
        case 'veventq':
            if (obj.fileOpen) {
                out.push('its event queue fd is open');
            }
            break;
        case 'vdevice':
        case 'hw_queue':
            break;
    }
    return out;
}

/** `iommufd_object_remove` from userspace: ENOENT unknown/tombstone, EBUSY while held. */
export function checkRemovable(k: KernelState, ctx: IommufdCtx, id: bigint): IommufdObject {
    const src = `${MAIN_C}:iommufd_object_remove`;
    const obj = getAnyObject(ctx, id, 'id', src);
    const holders = objectHolders(k, ctx, obj);
    if (holders.length > 0) {
        fail('EBUSY', `${describeObject(k, obj)} is still in use: ${holders.join('; ')}`, src);
    }
    return obj;
}

