/**
 * Checks of scenarios against the uAPI table and against themselves: ioctl names, fields and
 * positional arguments, expectation errnos and out-values, constants used in a field they do
 * not belong to, calls with the wrong number of arguments, names declared twice.
 */

import { type AstNode, type ValidationAcceptor } from 'langium';
import { allErrnoNames, parseErrno } from '../../engine/errno.js';
import {
    allIoctls, constantsFor, findElementField, findField, findIoctl, type IoctlDef,
} from '../../engine/uapi/index.js';
import { didYouMean } from '../closest-names.js';
import {
    isArrayLiteral, isDmaStatement, isIoctlStatement, isKernelConstant, isStructLiteral,
    type ArrayLiteral, type CallStatement, type CapsStatement, type Expectation, type ProcessBlock, type IoctlStatement, type NameRef, type Procedure, type Scenario,
    type Statement,
} from '../generated/ast.js';
import { outValuesOf } from '../uapi/out-values.js';
import { uapiContextOf } from '../uapi/uapi-context.js';
import { IommuCodes, type IommuCode } from './diagnostic-codes.js';

/** Validates scenarios. */
export class ScenarioValidator {

    checkScenario(scenario: Scenario, accept: ValidationAcceptor): void {
        this.checkUnique(scenario.procedures, 'procedure', accept);
    }

    checkProcedure(procedure: Procedure, accept: ValidationAcceptor): void {
        this.checkUnique(procedure.params, 'parameter', accept);
    }

    checkIoctl(statement: IoctlStatement, accept: ValidationAcceptor): void {
        const ioctl = findIoctl(statement.ioctl);
        if (!ioctl) {
            const names = allIoctls().map(i => i.name);
            this.error(accept, IommuCodes.UnknownIoctl, `unknown ioctl '${statement.ioctl}'${didYouMean(statement.ioctl, names)}`,
                statement, 'ioctl');
            return;
        }
        this.checkArguments(statement, ioctl, accept);
        if (statement.name !== undefined && ioctl.main === undefined) {
            accept('warning', `${ioctl.name} has no main out-value: '${statement.name}' will hold its return value (0)`, {
                node: statement, property: 'name', code: IommuCodes.NoValueToBind, data: { code: IommuCodes.NoValueToBind },
            });
        }
    }

    checkExpectation(expectation: Expectation, accept: ValidationAcceptor): void {
        const statement = expectation.$container as AstNode & Statement;
        if (expectation.errno !== undefined && !parseErrno(expectation.errno)) {
            this.error(accept, IommuCodes.UnknownErrno,
                `unknown errno '${expectation.errno}'${didYouMean(expectation.errno, allErrnoNames())}`, expectation, 'errno');
        }
        if (expectation.outcome === 'fault' && !isDmaStatement(statement)) {
            this.error(accept, IommuCodes.FaultNotDma, "only a 'dma' can fault; expect ok or an errno here", expectation, 'outcome');
        }
        const names = outValuesOf(statement);
        if (!names) {
            return;
        }
        const seen = new Set<string>();
        expectation.fields.forEach(field => {
            if (!names.includes(field.field)) {
                const what = isIoctlStatement(statement) ? statement.ioctl : `'${statement.$type.replace(/Statement$/, '').toLowerCase()}'`;
                this.error(accept, IommuCodes.UnknownField,
                    `${what} has no out-value '${field.field}'${didYouMean(field.field, names)} (out-values: ${names.join(', ')})`,
                    field, 'field');
            } else if (seen.has(`${field.field}${field.op}`)) {
                this.error(accept, IommuCodes.DuplicateField, `'${field.field}' is checked twice`, field, 'field');
            }
            seen.add(`${field.field}${field.op}`);
        });
    }

    /** `caps` lists `CAP_...` names, or is `caps none`. */
    checkCapabilities(node: ProcessBlock | CapsStatement, accept: ValidationAcceptor): void {
        node.caps.forEach((cap, index) => {
            if (!cap.startsWith('CAP_') && cap !== 'none') {
                accept('error', `'${cap}' is no capability: write them as Linux names them (CAP_IPC_LOCK ...), or 'caps none'`, {
                    node, property: 'caps', index, code: IommuCodes.InvalidCapability, data: { code: IommuCodes.InvalidCapability },
                });
            }
        });
    }

    checkCall(call: CallStatement, accept: ValidationAcceptor): void {
        const procedure = call.procedure.ref;
        if (procedure && procedure.params.length !== call.args.length) {
            const params = procedure.params.map(p => p.name).join(', ');
            this.error(accept, IommuCodes.WrongArgumentCount,
                `procedure '${procedure.name}' takes ${procedure.params.length} argument${procedure.params.length === 1 ? '' : 's'} (${params}), not ${call.args.length}`,
                call, 'procedure');
        }
    }

    /** A full constant name that exists but does not belong to the field it is written in. */
    checkNameRef(ref: NameRef, accept: ValidationAcceptor): void {
        const target = ref.ref.ref;
        const context = uapiContextOf(ref);
        if (!isKernelConstant(target) || !context || !findIoctl(context.ioctl)) {
            return;
        }
        const valid = constantsFor(context.ioctl, context.field);
        if (valid.length > 0 && !valid.some(c => c.name === target.name)) {
            accept('warning', `${target.name} is not one of the constants of ${context.field ?? 'the argument'} of ${context.ioctl}`, {
                node: ref, property: 'ref', code: IommuCodes.ConstantNotForField, data: { code: IommuCodes.ConstantNotForField },
            });
        }
    }

    protected checkArguments(statement: IoctlStatement, ioctl: IoctlDef, accept: ValidationAcceptor): void {
        const struct = ioctl.arg.kind === 'struct' ? ioctl.arg.struct : undefined;
        const fieldNames = struct ? [...new Set([...struct.fields.map(f => f.name), ...(struct.sizeField ? [struct.sizeField] : [])])] : [];
        const takesPositional = ioctl.arg.kind === 'int' || ioctl.arg.kind === 'int-ptr' || ioctl.arg.kind === 'string'
            || ioctl.positionalField !== undefined;
        let positionals = 0;
        const seen = new Set<string>();
        for (const arg of statement.args) {
            if (arg.field === undefined) {
                positionals++;
                if (!takesPositional) {
                    const hint = struct ? ` (name its fields: ${fieldNames.join(', ')})` : '';
                    this.error(accept, IommuCodes.UnexpectedArgument, `${ioctl.name} takes no positional argument${hint}`, arg, 'value');
                } else if (positionals > 1) {
                    this.error(accept, IommuCodes.UnexpectedArgument, `${ioctl.name} takes one positional argument`, arg, 'value');
                }
                continue;
            }
            if (!struct) {
                this.error(accept, IommuCodes.UnknownField,
                    `${ioctl.name} takes ${ioctl.arg.kind === 'none' ? 'no argument' : 'a single value'}, not fields`, arg, 'field');
                continue;
            }
            if (!fieldNames.includes(arg.field)) {
                this.error(accept, IommuCodes.UnknownField,
                    `unknown field '${arg.field}' of ${ioctl.name}${didYouMean(arg.field, fieldNames)}`, arg, 'field');
                continue;
            }
            if (seen.has(arg.field)) {
                this.error(accept, IommuCodes.DuplicateField, `field '${arg.field}' is given twice`, arg, 'field');
            }
            seen.add(arg.field);
            this.checkArray(ioctl, arg.field, arg.value, accept);
        }
    }

    /** Elements of an array field: structs whose fields are the element's. */
    protected checkArray(ioctl: IoctlDef, field: string, value: AstNode, accept: ValidationAcceptor): void {
        if (!isArrayLiteral(value)) {
            return;
        }
        const def = findField(ioctl, field);
        const array = def?.array;
        if (!array && def?.pointee) {
            this.checkPointee(ioctl, field, Object.values(def.pointee.structs), value, accept);
            return;
        }
        if (!array) {
            this.error(accept, IommuCodes.UnexpectedArgument, `field '${field}' of ${ioctl.name} is not an array`, value.$container, 'field');
            return;
        }
        const elementFields = array.elem.fields.map(f => f.name);
        for (const item of value.items) {
            if (!isStructLiteral(item)) {
                if (!array.scalar) {
                    this.error(accept, IommuCodes.UnexpectedArgument,
                        `the elements of '${field}' are structs: write { ${elementFields.map(f => `${f}: ...`).join(', ')} }`, item);
                }
                continue;
            }
            for (const member of item.fields) {
                if (!findElementField(ioctl, field, member.field)) {
                    this.error(accept, IommuCodes.UnknownField,
                        `unknown field '${member.field}' of the elements of '${field}'${didYouMean(member.field, elementFields)}`,
                        member, 'field');
                }
            }
        }
    }

    /**
     * A pointer to one type-specific struct (`data_uptr: [ { pgtbl_addr: ..., addr_width: 48 } ]`
     * of IOMMU_HWPT_ALLOC, the struct `data_type` selects): one struct, with that struct's fields.
     */
    protected checkPointee(ioctl: IoctlDef, field: string, structs: ReadonlyArray<{ readonly fields: ReadonlyArray<{ readonly name: string }> }>, value: ArrayLiteral, accept: ValidationAcceptor): void {
        if (value.items.length > 1) {
            this.error(accept, IommuCodes.UnexpectedArgument, `'${field}' of ${ioctl.name} points at one struct: write [ { ... } ]`, value.items[1]!);
        }
        const names = [...new Set(structs.flatMap(s => s.fields.map(f => f.name)))];
        for (const item of value.items) {
            if (!isStructLiteral(item)) {
                this.error(accept, IommuCodes.UnexpectedArgument, `'${field}' of ${ioctl.name} points at a struct: write [ { ${names.slice(0, 3).map(f => `${f}: ...`).join(', ')} } ]`, item);
                continue;
            }
            for (const member of item.fields) {
                if (!names.includes(member.field)) {
                    this.error(accept, IommuCodes.UnknownField,
                        `unknown field '${member.field}' of what '${field}' points at${didYouMean(member.field, names)}`, member, 'field');
                }
            }
        }
    }

    protected checkUnique(nodes: ReadonlyArray<AstNode & { name: string }>, what: string, accept: ValidationAcceptor): void {
        const seen = new Set<string>();
        for (const node of nodes) {
            if (seen.has(node.name)) {
                this.error(accept, IommuCodes.DuplicateName, `${what} '${node.name}' is declared twice`, node, 'name');
            }
            seen.add(node.name);
        }
    }

    protected error(accept: ValidationAcceptor, code: IommuCode, message: string, node: AstNode, property?: string): void {
        accept('error', message, { node, property, code, data: { code } });
    }
}
