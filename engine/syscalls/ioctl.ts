/**
 * `ioctl(2)`: decodes the user's argument from the uAPI tables as the kernel would read it from
 * user memory, dispatches on the file's type as the VFS does (`file->f_op->unlocked_ioctl`), and
 * filters what the handler writes back to what fits in the user's struct.
 */

import { KernelError, fail } from '../errno.js';
import type { Process, KernelState, OpenFile } from '../state.js';
import type { OutValue } from '../step.js';
import { availableIn, constantSet, findIoctl, formatConstant, structSizeIn } from '../uapi/index.js';
import type { FieldDef, IoctlDef } from '../uapi/types.js';
import { formatKernelVersion } from '../machine/spec.js';
import type { IoctlCall, IoctlOut } from './ioctl-call.js';

/** A value as a step hands it to the kernel, already evaluated. */
export type IoctlArgValue =
    | { readonly kind: 'int'; readonly value: bigint }
    | { readonly kind: 'string'; readonly value: string }
    | { readonly kind: 'array'; readonly items: ReadonlyArray<Readonly<Record<string, bigint>>> };

export interface IoctlRequest {
    readonly name: string;
    readonly positional?: IoctlArgValue;
    readonly fields: Readonly<Record<string, IoctlArgValue>>;
}

/** A malformed request the language should have caught (unknown ioctl or field): not a kernel errno. */
export class InvalidRequest extends Error {
    constructor(message: string) {
        super(message);
        this.name = 'InvalidRequest';
    }
}

function sized(field: FieldDef, v: bigint): bigint {
    switch (field.type) {
        case 'u8':
            return BigInt.asUintN(8, v);
        case 'u16':
            return BigInt.asUintN(16, v);
        case 'u32':
            return BigInt.asUintN(32, v);
        case 's32':
            return BigInt.asIntN(32, v);
        case 's64':
            return BigInt.asIntN(64, v);
        default:
            return BigInt.asUintN(64, v);
    }
}

/** Bits of a constant set that exist in this kernel version (for "unknown flag" checks). */
export function knownBits(setId: string, k: KernelState): bigint {
    const set = constantSet(setId);
    if (!set) {
        return 0n;
    }
    let mask = 0n;
    for (const c of set.constants) {
        if (!c.isMask && availableIn(c, k.config.version)) {
            mask |= c.value;
        }
    }
    return mask;
}

/** Builds the {@link IoctlCall} a handler sees. */
export function decodeIoctl(k: KernelState, req: IoctlRequest): IoctlCall {
    const def = findIoctl(req.name);
    if (!def) {
        throw new InvalidRequest(`unknown ioctl ${req.name}`);
    }
    const fields = new Map<string, bigint>();
    const arrays = new Map<string, ReadonlyArray<Readonly<Record<string, bigint>>>>();
    let value: bigint | undefined;
    let str: string | undefined;
    let size = 0n;
    const arg = def.arg;
    if (arg.kind === 'struct') {
        size = BigInt(structSizeIn(arg.struct, k.config.version));
        const byName = new Map(arg.struct.fields.map((f) => [f.name, f]));
        const assign = (name: string, v: IoctlArgValue) => {
            const f = byName.get(name);
            if (!f) {
                throw new InvalidRequest(`${def.name} has no field ${name}`);
            }
            if (v.kind === 'array') {
                arrays.set(name, v.items);
                fields.set(name, BigInt(v.items.length));
            } else if (v.kind === 'int') {
                fields.set(name, sized(f, v.value));
            } else {
                throw new InvalidRequest(`${def.name}.${name} takes a number, not a string`);
            }
        };
        if (req.positional) {
            if (!def.positionalField) {
                throw new InvalidRequest(`${def.name} takes its fields by name, not a positional argument`);
            }
            assign(def.positionalField, req.positional);
        }
        for (const [name, v] of Object.entries(req.fields)) {
            assign(name, v);
        }
        const sizeField = arg.struct.sizeField;
        if (sizeField && fields.has(sizeField)) {
            size = fields.get(sizeField)!;
        }
    } else if (arg.kind === 'int' || arg.kind === 'int-ptr') {
        const p = req.positional;
        if (p && p.kind === 'int') {
            value = p.value;
        } else if (p) {
            throw new InvalidRequest(`${def.name} takes a number`);
        }
    } else if (arg.kind === 'string') {
        const p = req.positional;
        if (p && p.kind === 'string') {
            str = p.value;
        } else if (p) {
            throw new InvalidRequest(`${def.name} takes a device name`);
        }
    }
    return {
        def,
        value,
        string: str,
        size,
        field: (name: string) => fields.get(name) ?? 0n,
        has: (name: string) => fields.has(name),
        array: (name: string) => arrays.get(name) ?? [],
    };
}

export type IoctlHandler = (k: KernelState, proc: Process, file: OpenFile, call: IoctlCall) => IoctlOut;

/** What the user sees after the call: out fields that fit in their struct, with flag names. */
export function outValues(k: KernelState, def: IoctlDef, call: IoctlCall, out: IoctlOut): Record<string, OutValue> {
    const values: Record<string, OutValue> = {};
    if (out.ret !== undefined && def.retName) {
        values[def.retName] = { value: out.ret };
    }
    if (def.arg.kind === 'struct' && out.out) {
        const byName = new Map(def.arg.struct.fields.map((f) => [f.name, f]));
        for (const [name, v] of Object.entries(out.out)) {
            const f = byName.get(name);
            // copy_to_user of min(size, sizeof): fields beyond what the user passed are not written.
            if (f && f.offset >= 0 && BigInt(f.offset + f.size) > call.size) {
                continue;
            }
            values[name] = { value: v, display: f?.constants ? formatConstant(f.constants, v) : undefined };
        }
    }
    for (const [name, v] of Object.entries(out.extra ?? {})) {
        values[name] = v;
    }
    return values;
}

/** ENOTTY for an ioctl this kernel version does not have (the command number is unknown to it). */
export function checkVersion(k: KernelState, def: IoctlDef): void {
    if (!availableIn(def, k.config.version)) {
        fail('ENOTTY', `${def.name} does not exist in Linux ${formatKernelVersion(k.config.version)} (it appeared in ${formatKernelVersion(def.since)})`, 'fs/ioctl.c:vfs_ioctl');
    }
}

/** Errors a handler throws become results; anything else is an engine bug and propagates. */
export function isKernelError(e: unknown): e is KernelError {
    return e instanceof KernelError;
}
