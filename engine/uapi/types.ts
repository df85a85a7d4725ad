/**
 * The Linux uAPI as data: ioctls, their argument structs (field names, offsets, sizes,
 * directions), the constants each field takes, and the kernel version that introduced each.
 * One table serves the engine (argument decoding, size checks, ENOTTY for unknown or too-new
 * ioctls) and the language (completion of ioctl, field and constant names; resolving short
 * constant names against the ioctl they are used with).
 */

import type { KernelVersion } from '../machine/spec.js';
import type { FileKind } from '../state.js';

export type FieldType = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 's64' | 'ptr';

export interface ConstantDef {
    /** Full kernel name: `VFIO_GROUP_FLAGS_VIABLE`. */
    readonly name: string;
    readonly value: bigint;
    readonly since?: KernelVersion;
    /** One line on what it means. */
    readonly doc: string;
}

/** The constants a field (or an int argument) takes; `prefix` is dropped for the short form. */
export interface ConstantSet {
    readonly id: string;
    readonly kind: 'flags' | 'enum';
    /** `VFIO_GROUP_FLAGS_`: `VIABLE` is short for `VFIO_GROUP_FLAGS_VIABLE`. */
    readonly prefix: string;
    readonly constants: readonly ConstantDef[];
}

export interface FieldDef {
    readonly name: string;
    readonly type: FieldType;
    readonly offset: number;
    readonly size: number;
    readonly dir: 'in' | 'out' | 'inout';
    /** Id of the {@link ConstantSet} it takes. */
    readonly constants?: string;
    /** A user pointer to an array of structs whose element count is in `countField`. */
    readonly array?: { readonly elem: StructDef; readonly countField: string };
    /**
     * A field the language offers that is not in the kernel struct but stands for what a pointer
     * field points at (`file` of KVM_SET_DEVICE_ATTR is the s32 fd `addr` points to).
     */
    readonly pointeeOf?: string;
    readonly since?: KernelVersion;
    readonly doc: string;
}

export interface StructDef {
    /** C name: `iommu_ioas_map`. */
    readonly name: string;
    /** sizeof(struct) in the newest kernel. */
    readonly size: number;
    /** offsetofend of the last mandatory field: a smaller size/argsz is EINVAL. */
    readonly minSize: number;
    /** The field carrying the struct size, when the ABI has one (`argsz` in VFIO, `size` in iommufd). */
    readonly sizeField?: 'argsz' | 'size';
    readonly fields: readonly FieldDef[];
}

export type IoctlArg =
    | { readonly kind: 'none' }
    /** Passed by value (`VFIO_SET_IOMMU(fd, type)`). */
    | { readonly kind: 'int'; readonly constants?: string; readonly doc: string }
    /** A pointer to an int (`VFIO_GROUP_SET_CONTAINER(fd, int *container_fd)`). */
    | { readonly kind: 'int-ptr'; readonly doc: string }
    /** A pointer to a NUL-terminated string (`VFIO_GROUP_GET_DEVICE_FD(fd, char *name)`). */
    | { readonly kind: 'string'; readonly doc: string }
    | { readonly kind: 'struct'; readonly struct: StructDef };

export interface IoctlDef {
    /** Kernel name: `IOMMU_IOAS_MAP`. */
    readonly name: string;
    /** The ioctl command number as `_IO(type, nr)` computes it. */
    readonly cmd: number;
    /** Files that accept it; on any other file it is ENOTTY (or what that file's dispatcher says). */
    readonly fileKinds: readonly FileKind[];
    readonly since: KernelVersion;
    readonly arg: IoctlArg;
    /**
     * What `let x = IOCTL(...)` binds: `ret` (the return value: a new fd, an extension answer) or
     * the name of an out field (`out_ioas_id`, `iova`, `out_devid`, `pt_id`).
     */
    readonly main?: string;
    /** Name under which the return value is reported (`fd`, `value`); default `ret`. */
    readonly retName?: string;
    /** Struct field a single positional argument fills, for struct ioctls that take one value. */
    readonly positionalField?: string;
    readonly doc: string;
    /** The kernel function that handles it: `drivers/vfio/container.c:vfio_ioctl_set_iommu`. */
    readonly source: string;
}
