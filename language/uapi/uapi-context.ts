/**
 * Which ioctl and which field a piece of a statement belongs to, as the uAPI table names them:
 * the context in which a short constant name (`READ`, `VIABLE`) is resolved.
 */

import type { AstNode } from 'langium';
import { findField, findIoctl, type IoctlDef } from '../../engine/uapi/index.js';
import {
    isArrayLiteral, isExpectField, isFieldValue, isIoctlArg, isIoctlStatement, isStructLiteral,
    type IoctlArg, type IoctlStatement,
} from '../generated/ast.js';

/** An ioctl and one of its fields; `field` undefined: the positional int argument. */
export interface UapiContext {
    readonly ioctl: string;
    /** A field, or `arrayField.elemField` for a field of an array's elements. */
    readonly field?: string;
}

/**
 * The context of a node inside an ioctl argument or an expectation of an ioctl call, or
 * undefined elsewhere (where only full constant names mean something).
 */
export function uapiContextOf(node: AstNode): UapiContext | undefined {
    let elementField: string | undefined;
    for (let current: AstNode | undefined = node; current; current = current.$container) {
        if (isFieldValue(current) && isStructLiteral(current.$container) && elementField === undefined) {
            elementField = current.field;
        } else if (isIoctlArg(current)) {
            return argContext(current, elementField);
        } else if (isExpectField(current)) {
            const statement = current.$container.$container;
            return isIoctlStatement(statement) ? { ioctl: statement.ioctl, field: current.field } : undefined;
        } else if (isIoctlStatement(current)) {
            return undefined;
        }
    }
    return undefined;
}

function argContext(arg: IoctlArg, elementField: string | undefined): UapiContext {
    const ioctl = arg.$container.ioctl;
    const field = arg.field ?? positionalField(arg.$container);
    if (field !== undefined && elementField !== undefined && isArrayLiteral(arg.value)) {
        return { ioctl, field: `${field}.${elementField}` };
    }
    return { ioctl, field };
}

/** The struct field a positional argument fills (`IOMMU_DESTROY(fd, ioas)` → `id`), if any. */
export function positionalField(statement: IoctlStatement): string | undefined {
    return findIoctl(statement.ioctl)?.positionalField;
}

/** The positional argument of an ioctl call (at most one is meaningful). */
export function positionalArg(statement: IoctlStatement): IoctlArg | undefined {
    return statement.args.find(a => a.field === undefined);
}

/**
 * Whether the positional argument of this ioctl is a string the kernel receives (a device name,
 * as `VFIO_GROUP_GET_DEVICE_FD` takes): there a bare name means a device before a binding.
 */
export function takesDeviceName(ioctl: IoctlDef | undefined, field: string | undefined): boolean {
    if (!ioctl) {
        return false;
    }
    if (field === undefined) {
        return ioctl.arg.kind === 'string';
    }
    return false;
}

/** The element field a plain value of a scalar array stands for (`group_fds: [g1, g2]`). */
export function scalarElementField(ioctl: string, arrayField: string): string | undefined {
    const def = findIoctl(ioctl);
    const array = def && findField(def, arrayField)?.array;
    return array?.scalar ? array.elem.fields[0]?.name : undefined;
}
