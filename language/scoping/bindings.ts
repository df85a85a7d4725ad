/**
 * What binds a name in a process: `let x = ...` statements, `send ... as g` (in the receiving
 * process), loop variables and procedure parameters.
 */

import type { AstNode } from 'langium';
import {
    isIoctlStatement, isMemfdStatement, isMmapStatement, isOpenStatement, isSvaBindStatement,
    type IoctlStatement, type MemfdStatement, type MmapStatement, type OpenStatement,
    type SvaBindStatement,
} from '../generated/ast.js';

/** A statement that may carry `let NAME =`. */
export type LetStatement = OpenStatement | IoctlStatement | MmapStatement | MemfdStatement | SvaBindStatement;

/** Whether a node is a statement that may carry `let NAME =`. */
export function isLetStatement(node: unknown): node is LetStatement {
    return isOpenStatement(node) || isIoctlStatement(node) || isMmapStatement(node) || isMemfdStatement(node)
        || isSvaBindStatement(node);
}

/** The binding a statement introduces in its own process (`let x = ...`), if any. */
export function ownBinding(statement: AstNode): (LetStatement & { name: string }) | undefined {
    return isLetStatement(statement) && statement.name !== undefined ? statement as LetStatement & { name: string } : undefined;
}
