/** Where an AST node is, as the engine carries it: document URI and 0-based LSP range. */

import { AstUtils, type AstNode } from 'langium';
import type { SourceLocation } from '../../engine/location.js';

/** Locations by node: a statement unrolled a thousand times shares one location object. */
const locations = new WeakMap<AstNode, SourceLocation>();

/** The location of a node's text, or undefined for nodes without text. */
export function locationOf(node: AstNode): SourceLocation | undefined {
    let location = locations.get(node);
    if (!location) {
        location = computeLocation(node);
        if (location) {
            locations.set(node, location);
        }
    }
    return location;
}

function computeLocation(node: AstNode): SourceLocation | undefined {
    const cst = node.$cstNode;
    if (!cst) {
        return undefined;
    }
    const uri = AstUtils.findRootNode(node).$document?.uri.toString();
    const { start, end } = cst.range;
    const range = { start: { line: start.line, character: start.character }, end: { line: end.line, character: end.character } };
    return uri === undefined ? range : { uri, ...range };
}

/**
 * A copy of `value` without its `undefined` properties, so that lowered data holds only what
 * the text says (and compares and serializes cleanly).
 */
export function compact<T extends object>(value: T): T {
    const result: Record<string, unknown> = {};
    for (const key in value) {
        const v = value[key];
        if (v !== undefined) {
            result[key] = v;
        }
    }
    return result as T;
}
