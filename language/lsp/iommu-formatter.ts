/**
 * Formatting of `.iommu` files: one editor tab size (4 by default) of spaces per block, one space around `=`, `..` and
 * binary operators, none inside a call's parentheses and before its commas (`IOCTL(fd, a: 1)`),
 * `field: value`, at most one blank line in a row, one newline at the end. Lines that continue
 * a call align with its opening parenthesis (or indent one level when it ends its line).
 * Comments are kept: a comment at the end of a line keeps its column when the code still fits
 * before it (so aligned comments stay aligned), and a comment line right below a line, indented
 * deeper than the block (a note aligned with the comments around it), keeps its column too.
 * Formatting a formatted document changes nothing.
 *
 * It works on the tokens of the parsed document (the CST's leaves, comments included) and only
 * rewrites the whitespace between them; a document with syntax errors is left alone.
 */

import { CstUtils, GrammarUtils, type CstNode, type LangiumDocument, type LeafCstNode } from 'langium';
import type { Formatter } from 'langium/lsp';
import type {
    DocumentFormattingParams, DocumentOnTypeFormattingOptions, DocumentRangeFormattingParams, Range, TextEdit,
} from 'vscode-languageserver';
import { isBinaryExpr, isUnaryExpr } from '../generated/ast.js';

/** Indentation of one block level when the editor gives none (or a nonsensical one). */
const DEFAULT_INDENT = 4;

/** Spaces per block level: the editor's tab size. Continuation lines align by column, so always spaces. */
function indentUnit(options: { readonly tabSize?: number } | undefined): number {
    const size = options?.tabSize;
    return typeof size === 'number' && Number.isInteger(size) && size >= 1 && size <= 16 ? size : DEFAULT_INDENT;
}

/** Keywords written directly before a `(` (`close(fd)`, `vfio-group(dev)`, `acs(sv rr)`). */
const CALL_KEYWORDS = new Set(['close', 'munmap', 'vfio-group', 'vfio-device', 'acs']);

/** Assignments whose name is written directly before a `(` (`IOCTL(...)`, `call proc(...)`). */
const CALL_NAMES = new Set(['ioctl', 'name', 'procedure']);

/** An open bracket: where the lines inside it, and its closing bracket, start. */
interface Frame {
    readonly open: string;
    readonly indent: number;
    readonly closeIndent: number;
}

const CLOSERS: Readonly<Record<string, string>> = { ')': '(', ']': '[', '}': '{' };

/** Formats by rewriting the whitespace between tokens. */
export class IommuFormatter implements Formatter {
    get formatOnTypeOptions(): DocumentOnTypeFormattingOptions | undefined {
        return undefined;
    }

    formatDocument(document: LangiumDocument, params: DocumentFormattingParams): TextEdit[] {
        return this.edits(document, indentUnit(params.options));
    }

    formatDocumentRange(document: LangiumDocument, params: DocumentRangeFormattingParams): TextEdit[] {
        return this.edits(document, indentUnit(params.options)).filter(edit => inLines(edit.range, params.range));
    }

    formatDocumentOnType(): TextEdit[] {
        return [];
    }

    /** The edits that format the whole document (none when it does not parse). */
    protected edits(document: LangiumDocument, unit: number): TextEdit[] {
        const { lexerErrors, parserErrors, value } = document.parseResult;
        const root = value.$cstNode;
        if (!root || lexerErrors.length > 0 || parserErrors.length > 0) {
            return [];
        }
        const text = document.textDocument.getText();
        const eol = text.includes('\r\n') ? '\r\n' : '\n';
        const leaves = CstUtils.flattenCst(root).toArray().sort((a, b) => a.offset - b.offset);
        const edits: TextEdit[] = [];
        const replace = (start: number, end: number, newText: string) => {
            if (text.slice(start, end) !== newText) {
                edits.push({ range: { start: document.textDocument.positionAt(start), end: document.textDocument.positionAt(end) }, newText });
            }
        };
        const frames: Frame[] = [];
        let column = 0;
        let lineIndent = 0;
        let previous: LeafCstNode | undefined;
        for (let i = 0; i < leaves.length; i++) {
            const leaf = leaves[i]!;
            const gapStart = previous ? previous.end : 0;
            const gap = text.slice(gapStart, leaf.offset);
            const newlines = countNewlines(gap);
            const comment = isComment(leaf);
            if (!previous) {
                replace(0, leaf.offset, '');
                column = 0;
            } else if (newlines > 0) {
                const indent = this.indentOf(leaf, frames, comment && newlines === 1);
                replace(gapStart, leaf.offset, eol.repeat(Math.min(newlines, 2)) + ' '.repeat(indent));
                lineIndent = indent;
                column = indent;
            } else {
                const spaces = comment ? Math.max(leaf.range.start.character, column + 1) - column : this.spaceBetween(previous, leaf, gap);
                replace(gapStart, leaf.offset, ' '.repeat(spaces));
                column += spaces;
            }
            if (!comment) {
                this.track(leaf, leaves, i, text, frames, column, lineIndent, unit);
            }
            column = endColumn(leaf.text, column);
            previous = leaf;
        }
        if (previous) {
            replace(previous.end, text.length, eol);
        }
        return edits;
    }

    /**
     * Where a line starting with `leaf` starts: the block's indentation, a closing bracket's
     * own, or (`keepDeeper`: a comment right below another line) its column when deeper.
     */
    protected indentOf(leaf: LeafCstNode, frames: readonly Frame[], keepDeeper: boolean): number {
        const top = frames[frames.length - 1];
        if (CLOSERS[leaf.text] !== undefined && top?.open === CLOSERS[leaf.text]) {
            return top.closeIndent;
        }
        const indent = top?.indent ?? 0;
        return keepDeeper ? Math.max(indent, leaf.range.start.character) : indent;
    }

    /** Opens and closes brackets as their tokens go by. */
    protected track(leaf: LeafCstNode, leaves: readonly LeafCstNode[], index: number, text: string, frames: Frame[], column: number, lineIndent: number, unit: number): void {
        const token = leaf.text;
        if (token === '{' || token === '(' || token === '[') {
            const next = leaves.slice(index + 1).find(l => !isComment(l));
            const endsLine = !next || countNewlines(text.slice(leaf.end, next.offset)) > 0;
            if (token === '{' || endsLine) {
                frames.push({ open: token, indent: lineIndent + unit, closeIndent: lineIndent });
            } else {
                frames.push({ open: token, indent: column + 1, closeIndent: column });
            }
        } else if (CLOSERS[token] !== undefined && frames[frames.length - 1]?.open === CLOSERS[token]) {
            frames.pop();
        }
    }

    /** Spaces between two tokens on one line. */
    protected spaceBetween(a: LeafCstNode, b: LeafCstNode, gap: string): number {
        if (isComment(a)) {
            return 1;
        }
        const left = a.text;
        const right = b.text;
        if (isNamePart(a) || isNamePart(b)) {
            return 0;
        }
        if (right === ',' || right === ')' || left === '(') {
            return 0;
        }
        if (left === '[' || right === ']') {
            return gap.length > 0 ? 1 : 0;
        }
        if (right === ':') {
            return 0;
        }
        if (right === '(') {
            return this.isCallee(a) ? 0 : 1;
        }
        if (left === '~' || (left === '-' && isUnaryExpr(a.astNode))) {
            return 0;
        }
        return 1;
    }

    /** Whether a token is the name a `(` follows directly: an ioctl, a procedure, `close`... */
    protected isCallee(leaf: LeafCstNode): boolean {
        if (CALL_KEYWORDS.has(leaf.text)) {
            return true;
        }
        const feature = GrammarUtils.findAssignment(leaf)?.feature;
        return feature !== undefined && CALL_NAMES.has(feature);
    }
}

/** `-` inside a name (`intel-vtd`, `pci-stub`) or the `.` of a kernel version. */
function isNamePart(leaf: CstNode): boolean {
    if (leaf.text === '.') {
        return true;
    }
    return leaf.text === '-' && !isBinaryExpr(leaf.astNode) && !isUnaryExpr(leaf.astNode);
}

function isComment(leaf: LeafCstNode): boolean {
    return leaf.hidden && (leaf.text.startsWith('//') || leaf.text.startsWith('/*'));
}

function countNewlines(text: string): number {
    let n = 0;
    for (const c of text) {
        if (c === '\n') {
            n++;
        }
    }
    return n;
}

/** The column after `token` when it starts at `column` (a block comment may span lines). */
function endColumn(token: string, column: number): number {
    const lastBreak = token.lastIndexOf('\n');
    return lastBreak < 0 ? column + token.length : token.length - lastBreak - 1;
}

/** Whether the whitespace an edit rewrites precedes a token on the lines of a range. */
function inLines(edit: Range, range: Range): boolean {
    return edit.end.line >= range.start.line && edit.end.line <= range.end.line;
}
