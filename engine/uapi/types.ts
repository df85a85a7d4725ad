/**
 * The Linux uAPI as data: ioctls, their argument structs (field names, offsets, sizes,
 * directions), the constants each field takes, and the kernel version that introduced each.
 * One table serves the engine (argument decoding, size checks, ENOTTY for unknown or too-new
 * ioctls) and the language (completion of ioctl, field and constant names; resolving short
 * constant names against the ioctl they are used with).
 */

import type { KernelVersion } from '../machine/spec.js';
import type { FileKind } from '../state.js';

/** C type of a field: `ptr` is a `__u64` holding a user pointer the kernel copies through. */
export type FieldType = 'u8' | 'u16' | 'u32' | 's32' | 'u64' | 's64' | 'ptr';

/** A named constant of a uAPI header. */
export interface ConstantDef {
    /** Full kernel name: `VFIO_GROUP_FLAGS_VIABLE`. */
    readonly name: string;
    readonly value: bigint;
    readonly since?: KernelVersion;
    /** One line on what it means. */
    readonly doc: string;
    /**
     * The constant this one is a compile-time alias of (same value, kept for uAPI compatibility):
     * `KVM_DEV_VFIO_GROUP` → `KVM_DEV_VFIO_FILE`. Formatting prefers the canonical name.
     */
    readonly aliasOf?: string;
    /**
     * Short form when it is not the name minus the set's prefix (`IOMMU_HWPT_FAULT_ID_VALID` in the
     * `IOMMU_HWPT_ALLOC_` flags is `FAULT_ID_VALID`).
     */
    readonly short?: string;
    /**
     * The constant is a value of a multi-bit sub-field of a flags word, not a bit: that sub-field's
     * mask (`VFIO_DEVICE_FEATURE_MIGRATION` lives in `VFIO_DEVICE_FEATURE_MASK` = 0xffff).
     */
    readonly fieldMask?: bigint;
    /** The constant is itself a mask (`VFIO_DEVICE_FEATURE_MASK`), never printed as a flag. */
    readonly isMask?: boolean;
    /** First version whose header no longer has this name (the value may live on under another). */
    readonly removedIn?: KernelVersion;
}

/** The constants a field (or an int argument) takes; `prefix` is dropped for the short form. */
export interface ConstantSet {
    readonly id: string;
    readonly kind: 'flags' | 'enum';
    /** `VFIO_GROUP_FLAGS_`: `VIABLE` is short for `VFIO_GROUP_FLAGS_VIABLE`. */
    readonly prefix: string;
    readonly constants: readonly ConstantDef[];
}

/**
 * An array a field stands for: a user pointer to an array (`allowed_iovas`), or a trailing
 * flexible array member (`group_fds[]`, `flexible`), or a list in a capability (`iova_ranges`).
 */
export interface ArrayDef {
    readonly elem: StructDef;
    /** Field (of the same struct) holding the element count. */
    readonly countField: string;
    /**
     * How `countField` counts: `elements` (default); `dirty-bitmap`: the array is a bitmap of u64
     * words, one bit per `pageSizeField` bytes of the `countField` byte length
     * (ceil(length / page_size / 64) words).
     */
    readonly countKind?: 'elements' | 'dirty-bitmap';
    /** For `dirty-bitmap`: the field holding the page size one bit stands for. */
    readonly pageSizeField?: string;
    /** A trailing flexible array member: inline at `offset`, not part of sizeof. */
    readonly flexible?: boolean;
    /** Elements are single values (`elem` has one field), written as a plain list: `[g1, g2]`. */
    readonly scalar?: boolean;
    /** Field giving each element's byte size when the caller chooses it (`entry_len`). */
    readonly elemSizeField?: string;
    /**
     * Element layout chosen by a type field (`data_type` of IOMMU_HWPT_INVALIDATE): constant name →
     * struct; `elem` is the first (default) one.
     */
    readonly byType?: { readonly field: string; readonly elems: Readonly<Record<string, StructDef>> };
}

/** A user pointer to one type-specific struct (`data_uptr` of IOMMU_HWPT_ALLOC), chosen by a type field. */
export interface PointeeDef {
    /** Field holding the type constant (`data_type`, `out_data_type`, `type`). */
    readonly typeField: string;
    /** Field holding the buffer length (`data_len`). */
    readonly lengthField: string;
    /** Constant name of the type → struct it points to. */
    readonly structs: Readonly<Record<string, StructDef>>;
}

/**
 * A member of an ioctl's argument struct. Two fields may share an offset: they are the members
 * of an anonymous C union (`in_data_type` / `out_data_type` of `iommu_hw_info`).
 */
export interface FieldDef {
    readonly name: string;
    readonly type: FieldType;
    /** Byte offset in the struct; -1 for pseudo fields (`pointeeOf`, `cap`), which are not in it. */
    readonly offset: number;
    /** Bytes (elements × element size for C arrays; 0 for flexible arrays and list pseudo fields). */
    readonly size: number;
    /** Number of elements of a C array member (`__u8 __reserved[3]`: type u8, size 3, count 3). */
    readonly count?: number;
    readonly dir: 'in' | 'out' | 'inout';
    /** Id of the {@link ConstantSet} it takes. */
    readonly constants?: string;
    /** A user pointer to an array of structs whose element count is in `countField`. */
    readonly array?: ArrayDef;
    /** A user pointer to one struct whose type another field selects. */
    readonly pointee?: PointeeDef;
    /**
     * Lives in the trailing `data[]` of the struct, beyond sizeof: present only when a flag asks
     * for it (the `vfio_bitmap` of `VFIO_IOMMU_UNMAP_DMA` with GET_DIRTY_BITMAP).
     */
    readonly flexible?: boolean;
    /**
     * A pseudo out field reported in the VFIO capability chain (after the fixed struct, reached
     * through `cap_offset`), not at a fixed offset: the capability's id and kernel name.
     */
    readonly cap?: { readonly id: number; readonly name: string };
    /**
     * A field the language offers that is not in the kernel struct but stands for what a pointer
     * field points at (`file` of KVM_SET_DEVICE_ATTR is the s32 fd `addr` points to).
     */
    readonly pointeeOf?: string;
    readonly since?: KernelVersion;
    readonly doc: string;
}

/** An ioctl argument struct, or a struct one of its fields points to. */
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

/** How an ioctl takes its argument. */
export type IoctlArg =
    | { readonly kind: 'none' }
    /** Passed by value (`VFIO_SET_IOMMU(fd, type)`). */
    | { readonly kind: 'int'; readonly constants?: string; readonly doc: string }
    /** A pointer to an int (`VFIO_GROUP_SET_CONTAINER(fd, int *container_fd)`). */
    | { readonly kind: 'int-ptr'; readonly doc: string }
    /** A pointer to a NUL-terminated string (`VFIO_GROUP_GET_DEVICE_FD(fd, char *name)`). */
    | { readonly kind: 'string'; readonly doc: string }
    | { readonly kind: 'struct'; readonly struct: StructDef };

/** An ioctl: number, files, argument, version and handler. */
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
