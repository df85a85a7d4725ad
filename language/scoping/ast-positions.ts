/** Source order of AST nodes: where a node starts in its document's text. */

import type { AstNode } from 'langium';

/** The offset of the node's first character, or -1 for nodes with no text (synthetic ones). */
export function offsetOf(node: AstNode): number {
    return node.$cstNode?.offset ?? -1;
}
