/**
 * Small builders for the uAPI tables, so each table entry reads like the C declaration it
 * mirrors. Sizes of scalar fields are derived from their type; everything else is written out.
 */

import type { KernelVersion } from '../machine/spec.js';
import { scalarSize } from './ioc.js';
import type { ConstantDef, ConstantSet, FieldDef, FieldType, StructDef } from './types.js';

/** A kernel version literal: `kv(6, 2)` is Linux 6.2. */
export function kv(major: number, minor: number): KernelVersion {
    return { major, minor };
}

type FieldExtra = Omit<Partial<FieldDef>, 'name' | 'type' | 'offset' | 'dir' | 'doc'>;

/** A struct member at `offset`; `extra.count` makes it a C array (`__u8 __reserved[3]`). */
export function fld(
    name: string,
    type: FieldType,
    offset: number,
    dir: FieldDef['dir'],
    doc: string,
    extra: FieldExtra = {},
): FieldDef {
    const size = extra.size ?? (extra.array?.flexible ? 0 : scalarSize(type) * (extra.count ?? 1));
    return { name, type, offset, size, dir, doc, ...extra };
}

/** A field the language offers that is not at a fixed offset of the struct (offset -1). */
export function pseudo(name: string, type: FieldType, dir: FieldDef['dir'], doc: string, extra: FieldExtra = {}): FieldDef {
    const size = extra.size ?? (extra.array ? 0 : scalarSize(type));
    return { name, type, offset: -1, size, dir, doc, ...extra };
}

/** A struct; `minSize` is what the handler checks (`offsetofend` of its last mandatory field). */
export function defineStruct(
    name: string,
    size: number,
    minSize: number,
    fields: readonly FieldDef[],
    sizeField?: StructDef['sizeField'],
): StructDef {
    return sizeField === undefined ? { name, size, minSize, fields } : { name, size, minSize, sizeField, fields };
}

type ConstantExtra = Omit<Partial<ConstantDef>, 'name' | 'value' | 'doc'>;

/** A constant with its full kernel name. */
export function cst(name: string, value: number | bigint, doc: string, extra: ConstantExtra = {}): ConstantDef {
    return { name, value: BigInt(value), doc, ...extra };
}

/** A set of constants a field or an int argument takes. */
export function defineConstants(
    id: string,
    kind: ConstantSet['kind'],
    prefix: string,
    constants: readonly ConstantDef[],
): ConstantSet {
    return { id, kind, prefix, constants };
}
