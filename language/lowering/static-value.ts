/**
 * Values known without running anything: numbers, kernel constants and loop variables combined
 * with operators. Loop bounds, `repeat` counts, `memory`, `memlock` must be such values.
 */

import type { Expr as EngineExpr } from '../../engine/step.js';
import { isBinaryExpr, isKernelConstant, isNameRef, isNumberLiteral, isUnaryExpr, type Expr } from '../generated/ast.js';

/** Applies a binary operator as the engine does on integers; undefined for a division by zero. */
export function applyBinary(op: string, left: bigint, right: bigint): bigint | undefined {
    switch (op) {
        case '+': return left + right;
        case '-': return left - right;
        case '*': return left * right;
        case '/': return right === 0n ? undefined : left / right;
        case '%': return right === 0n ? undefined : left % right;
        case '|': return left | right;
        case '&': return left & right;
        case '^': return left ^ right;
        case '<<': return right < 0n || right > 1024n ? undefined : left << right;
        case '>>': return right < 0n ? undefined : left >> right;
        default: return undefined;
    }
}

/** The value of a written expression made of numbers and constants only. */
export function staticValue(expr: Expr | undefined): bigint | undefined {
    if (expr === undefined) {
        return undefined;
    }
    if (isNumberLiteral(expr)) {
        return expr.value;
    }
    if (isNameRef(expr)) {
        const target = expr.ref.ref;
        return isKernelConstant(target) ? target.value : undefined;
    }
    if (isUnaryExpr(expr)) {
        const operand = staticValue(expr.operand);
        return operand === undefined ? undefined : expr.op === '-' ? -operand : ~operand;
    }
    if (isBinaryExpr(expr)) {
        const left = staticValue(expr.left);
        const right = staticValue(expr.right);
        return left === undefined || right === undefined ? undefined : applyBinary(expr.op, left, right);
    }
    return undefined;
}

/** The value of a lowered expression with no variables in it. */
export function evaluateConstant(expr: EngineExpr): bigint | undefined {
    switch (expr.kind) {
        case 'int':
            return expr.value;
        case 'var':
            return undefined;
        case 'unary': {
            const operand = evaluateConstant(expr.operand);
            return operand === undefined ? undefined : expr.op === '-' ? -operand : ~operand;
        }
        case 'binary': {
            const left = evaluateConstant(expr.left);
            const right = evaluateConstant(expr.right);
            return left === undefined || right === undefined ? undefined : applyBinary(expr.op, left, right);
        }
    }
}
