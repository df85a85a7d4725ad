/**
 * Lookups over the uAPI tables (`vfio.ts`, `iommufd.ts`, `kvm.ts`): ioctls by name, number and
 * file, their fields, and the constants a field takes, in full (`IOMMU_IOAS_MAP_FIXED_IOVA`) or
 * short form (`FIXED_IOVA`, the name without its set's prefix).
 */

import type { KernelVersion } from '../machine/spec.js';
import { kernelAtLeast } from '../machine/spec.js';
import type { FileKind } from '../state.js';
import { scalarSize } from './ioc.js';
import { IOMMUFD_CONSTANT_SETS, IOMMUFD_IOCTLS, IOMMUFD_STRUCTS } from './iommufd.js';
import { KVM_CONSTANT_SETS, KVM_IOCTLS, KVM_STRUCTS } from './kvm.js';
import type { ConstantDef, ConstantSet, FieldDef, IoctlDef, StructDef } from './types.js';
import { VFIO_CONSTANT_SETS, VFIO_IOCTLS, VFIO_STRUCTS } from './vfio.js';

/** The table types, re-exported. */
export type {
    ArrayDef,
    ConstantDef,
    ConstantSet,
    FieldDef,
    FieldType,
    IoctlArg,
    IoctlDef,
    PointeeDef,
    StructDef,
} from './types.js';

const IOCTLS: readonly IoctlDef[] = [...VFIO_IOCTLS, ...IOMMUFD_IOCTLS, ...KVM_IOCTLS];
const SETS: readonly ConstantSet[] = [...VFIO_CONSTANT_SETS, ...IOMMUFD_CONSTANT_SETS, ...KVM_CONSTANT_SETS];
const STRUCTS: readonly StructDef[] = [...VFIO_STRUCTS, ...IOMMUFD_STRUCTS, ...KVM_STRUCTS];

const ioctlByName = new Map<string, IoctlDef>(IOCTLS.map((i) => [i.name, i]));
const setById = new Map<string, ConstantSet>(SETS.map((s) => [s.id, s]));
const constantByName = new Map<string, ConstantDef>();
const setByConstant = new Map<string, ConstantSet>();
for (const set of SETS) {
    for (const c of set.constants) {
        constantByName.set(c.name, c);
        setByConstant.set(c.name, set);
    }
}

/** An ioctl by its kernel name. */
export function findIoctl(name: string): IoctlDef | undefined {
    return ioctlByName.get(name);
}

/** Every ioctl of the tables. */
export function allIoctls(): readonly IoctlDef[] {
    return IOCTLS;
}

/** The ioctls a file of that kind accepts. */
export function ioctlsForFile(kind: FileKind): IoctlDef[] {
    return IOCTLS.filter((i) => i.fileKinds.includes(kind));
}

/**
 * The ioctl a command number means on a file of that kind (VFIO reuses numbers across files:
 * 0x3b70 is VFIO_DEVICE_GET_PCI_HOT_RESET_INFO on a device and VFIO_IOMMU_GET_INFO on a container).
 */
export function findIoctlByCmd(cmd: number, kind: FileKind): IoctlDef | undefined {
    return IOCTLS.find((i) => i.cmd === cmd >>> 0 && i.fileKinds.includes(kind));
}

/** A struct field of the ioctl (also pseudo fields like `file`, and element fields of array fields via `findElementField`). */
export function findField(ioctl: IoctlDef, field: string): FieldDef | undefined {
    return ioctl.arg.kind === 'struct' ? ioctl.arg.struct.fields.find((f) => f.name === field) : undefined;
}

/** A field of the elements of an array field (`allowed_iovas` → `start`, `last`). */
export function findElementField(ioctl: IoctlDef, arrayField: string, field: string): FieldDef | undefined {
    const array = findField(ioctl, arrayField)?.array;
    if (!array) {
        return undefined;
    }
    const inDefault = array.elem.fields.find((f) => f.name === field);
    if (inDefault || !array.byType) {
        return inDefault;
    }
    for (const elem of Object.values(array.byType.elems)) {
        const found = elem.fields.find((f) => f.name === field);
        if (found) {
            return found;
        }
    }
    return undefined;
}

/** A constant set by id (`iommufd_ioas_map_flags`, `vfio_group_status.flags`, `vfio_extension`...). */
export function constantSet(id: string): ConstantSet | undefined {
    return setById.get(id);
}

/** Every constant set. */
export function allConstantSets(): readonly ConstantSet[] {
    return SETS;
}

/** Every struct of the tables, argument structs and the structs they point to. */
export function allStructs(): readonly StructDef[] {
    return STRUCTS;
}

/** The set a constant belongs to. */
export function setOfConstant(fullName: string): ConstantSet | undefined {
    return setByConstant.get(fullName);
}

/**
 * The short form of a constant in its set: its `short`, else its name without the set's prefix;
 * undefined when the name does not start with the prefix (`__VFIO_RESERVED_TYPE1_NESTING_IOMMU`).
 */
export function shortName(c: ConstantDef, set: ConstantSet): string | undefined {
    if (c.short !== undefined) {
        return c.short;
    }
    return c.name.startsWith(set.prefix) && c.name.length > set.prefix.length ? c.name.slice(set.prefix.length) : undefined;
}

/**
 * The constant set of a field of an ioctl; `field` undefined: of its int argument. `field` may
 * name an element field of an array field as `arrayField.elemField` (`data_uptr.flags`).
 */
export function constantSetFor(ioctl: IoctlDef, field?: string): ConstantSet | undefined {
    if (field === undefined) {
        return ioctl.arg.kind === 'int' && ioctl.arg.constants !== undefined ? setById.get(ioctl.arg.constants) : undefined;
    }
    let def = findField(ioctl, field);
    if (!def) {
        const dot = field.indexOf('.');
        if (dot > 0) {
            def = findElementField(ioctl, field.slice(0, dot), field.slice(dot + 1));
        }
    }
    return def?.constants !== undefined ? setById.get(def.constants) : undefined;
}

/** Resolves a constant as written in a field of an ioctl (field undefined: its positional int argument): the full kernel name anywhere, or the short name (without the set's prefix) in that field's set. */
export function resolveConstant(name: string, ctx: { ioctl: string; field?: string }): ConstantDef | undefined {
    const full = constantByName.get(name);
    if (full) {
        return full;
    }
    const ioctl = ioctlByName.get(ctx.ioctl);
    const set = ioctl && constantSetFor(ioctl, ctx.field);
    return set?.constants.find((c) => shortName(c, set) === name);
}

/** Any constant by its full kernel name. */
export function findConstant(fullName: string): ConstantDef | undefined {
    return constantByName.get(fullName);
}

/** Constants valid in a field (or the positional argument) of an ioctl, for completion. */
export function constantsFor(ioctl: string, field?: string): readonly ConstantDef[] {
    const def = ioctlByName.get(ioctl);
    return (def && constantSetFor(def, field)?.constants) ?? [];
}

function hex(value: bigint): string {
    return `0x${value.toString(16)}`;
}

/** `VIABLE | CONTAINER_SET` for flags, `TYPE1v2_IOMMU`-style short name for enums, a hex number for unknown bits. */
export function formatConstant(setId: string, value: bigint, style: 'short' | 'full' = 'short'): string {
    const set = setById.get(setId);
    if (!set) {
        return hex(value);
    }
    const show = (c: ConstantDef): string => (style === 'full' ? c.name : (shortName(c, set) ?? c.name));
    if (set.kind === 'enum') {
        const match =
            set.constants.find((c) => c.value === value && !c.aliasOf) ?? set.constants.find((c) => c.value === value);
        return match ? show(match) : hex(value);
    }
    const parts: string[] = [];
    let rest = value;
    const fieldsDone = new Set<bigint>();
    for (const c of set.constants) {
        if (c.aliasOf || c.isMask) {
            continue;
        }
        if (c.fieldMask !== undefined) {
            if (!fieldsDone.has(c.fieldMask) && (value & c.fieldMask) === c.value) {
                parts.push(show(c));
                rest &= ~c.fieldMask;
                fieldsDone.add(c.fieldMask);
            }
            continue;
        }
        if (c.value !== 0n && (rest & c.value) === c.value) {
            parts.push(show(c));
            rest &= ~c.value;
        }
    }
    if (rest !== 0n) {
        parts.push(hex(rest));
    }
    return parts.length > 0 ? parts.join(' | ') : '0';
}

/** Fields of the ioctl's struct that the user may write (in/inout plus pseudo fields), for completion. */
export function writableFields(ioctl: IoctlDef): readonly FieldDef[] {
    return ioctl.arg.kind === 'struct' ? ioctl.arg.struct.fields.filter((f) => f.dir !== 'out') : [];
}

/** Is this uAPI item available in that kernel version? */
export function availableIn(item: { since?: KernelVersion; removedIn?: KernelVersion }, version: KernelVersion): boolean {
    if (item.since && !kernelAtLeast(version, item.since.major, item.since.minor)) {
        return false;
    }
    return !(item.removedIn && kernelAtLeast(version, item.removedIn.major, item.removedIn.minor));
}

/** A pseudo field: not at a fixed offset of the struct (`file`, the capability-chain outputs). */
export function isPseudoField(field: FieldDef): boolean {
    return field.offset < 0;
}

/**
 * sizeof(struct) in a kernel version: the end of its last field that version has, rounded up to
 * the struct's alignment (`iommu_hwpt_alloc` is 24 bytes in 6.6, 40 in 6.7, 48 from 6.11).
 */
export function structSizeIn(struct: StructDef, version: KernelVersion): number {
    let end = 0;
    let align = 1;
    for (const f of struct.fields) {
        if (isPseudoField(f) || f.flexible || f.array?.flexible || !availableIn(f, version)) {
            continue;
        }
        end = Math.max(end, f.offset + f.size);
        align = Math.max(align, scalarSize(f.type));
    }
    return Math.ceil(end / align) * align;
}
