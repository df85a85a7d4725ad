/**
 * The out-values an `expect ok { ... }` may check, per kind of statement: an ioctl's out fields
 * and its return value, and the values the other calls report (the fd of an `open`, the PASID of
 * an `sva-bind`, the physical address a `dma` reached...). The engine reports results under the
 * same names (`StepResult.values`).
 */

import type { AstNode } from 'langium';
import { findIoctl, type IoctlDef } from '../../engine/uapi/index.js';
import type { Statement } from '../generated/ast.js';

/** Out-values of the statements that are not ioctls, by AST type. */
const STATEMENT_OUT_VALUES: Readonly<Record<string, readonly string[]>> = {
    OpenStatement: ['fd', 'ret'],
    CloseStatement: ['ret'],
    MmapStatement: ['addr', 'ret'],
    MunmapStatement: ['ret'],
    MemfdStatement: ['fd', 'ret'],
    BindStatement: ['ret'],
    UnbindStatement: ['ret'],
    SriovStatement: ['ret'],
    MdevStatement: ['ret'],
    SvaBindStatement: ['pasid', 'ret'],
    SvaUnbindStatement: ['ret'],
    DmaStatement: ['pa', 'ret'],
    ExitStatement: ['ret'],
    ForkStatement: ['pid', 'ret'],
    SendStatement: ['fd', 'ret'],
};

/** The out-values of an ioctl: its out/inout struct fields and its return value. */
export function ioctlOutValues(ioctl: IoctlDef): string[] {
    const names = ioctl.arg.kind === 'struct'
        ? ioctl.arg.struct.fields.filter(f => f.dir !== 'in').map(f => f.name)
        : [];
    names.push(ioctl.retName ?? 'ret');
    if (!names.includes('ret')) {
        names.push('ret');
    }
    return names;
}

/**
 * The names `expect ok { ... }` may check on this statement, or undefined when they cannot be
 * known (an unknown ioctl: its own diagnostic says so).
 */
export function outValuesOf(statement: AstNode & Statement): readonly string[] | undefined {
    if (statement.$type === 'IoctlStatement') {
        const ioctl = findIoctl(statement.ioctl);
        return ioctl ? ioctlOutValues(ioctl) : undefined;
    }
    return STATEMENT_OUT_VALUES[statement.$type] ?? ['ret'];
}
