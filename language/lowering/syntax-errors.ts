/**
 * Whether a part of a document has syntax errors. While a statement is being typed the parser
 * recovers with partial nodes (missing mandatory properties); lowering and simulating such a part
 * would mean guessing. The parser has already reported the error, so those parts are not lowered.
 */

import { AstUtils, type AstNode, type LangiumDocument } from 'langium';

/** Offsets [start, end) of the document's lexer and parser errors. */
function errorOffsets(document: LangiumDocument): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const e of document.parseResult.lexerErrors) {
        out.push([e.offset, e.offset + Math.max(1, e.length)]);
    }
    for (const e of document.parseResult.parserErrors) {
        const token = e.token;
        if (!Number.isFinite(token.startOffset) || token.startOffset < 0) {
            // At end of input (the text stops mid-statement): the error belongs to whatever reaches
            // the last consumed character, however much whitespace follows it.
            const last = (document.parseResult.value.$cstNode?.end ?? 1) - 1;
            out.push([last, Number.MAX_SAFE_INTEGER]);
            continue;
        }
        const start = token.startOffset;
        const end = Number.isFinite(token.endOffset) && token.endOffset !== undefined ? token.endOffset + 1 : start + 1;
        out.push([start, end]);
        // A recovered rule ends where the error was found: the node may end just before it.
        out.push([start - 1, start]);
    }
    return out;
}

/** True when a syntax error lies inside the node's text (or at its end), or the node has no text. */
export function hasSyntaxErrors(node: AstNode): boolean {
    const root = AstUtils.findRootNode(node);
    const document = root.$document;
    const cst = node.$cstNode;
    if (!document || !cst) {
        return true;
    }
    const from = cst.offset;
    const to = cst.end;
    const text = document.textDocument.getText();
    // An error inside the node, or just after it with only whitespace between (a statement the
    // parser closed early because the next characters did not lex or parse).
    return errorOffsets(document).some(([s, e]) => (s < to && e > from) || (s >= to && /^\s*$/.test(text.slice(to, s))));
}
