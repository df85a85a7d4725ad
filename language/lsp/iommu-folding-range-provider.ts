/**
 * Folding: every block (`machine`, `iommu`, `pci`, ports and endpoints with a `{ }` body,
 * `scenario`, `process`, `procedure`, loops, a multi-line `expect ok { }`), calls that span
 * lines, block comments, and runs of two or more `//` comment lines.
 */

import type { AstNode, CstNode, LangiumDocument } from 'langium';
import { DefaultFoldingRangeProvider, type FoldingRangeAcceptor } from 'langium/lsp';
import { FoldingRange, FoldingRangeKind } from 'vscode-languageserver';
import { isExpectation, isIoctlStatement, isIommuFile, isStatement } from '../generated/ast.js';

/** AST node types that are blocks of the language. */
const BLOCKS = new Set([
    'Machine', 'IommuUnit', 'PciSegment', 'Endpoint', 'RootPort', 'PciSwitch', 'DownstreamPort', 'PciBridge',
    'PlatformDevice', 'Scenario', 'ProcessBlock', 'Procedure', 'ForStatement', 'RepeatStatement',
]);

/** Blocks, long calls and comments. */
export class IommuFoldingRangeProvider extends DefaultFoldingRangeProvider {
    protected override shouldProcess(node: AstNode): boolean {
        return BLOCKS.has(node.$type) || isExpectation(node) || (isIoctlStatement(node) && isStatement(node));
    }

    protected override shouldProcessContent(node: AstNode): boolean {
        return isIommuFile(node) || BLOCKS.has(node.$type) || isStatement(node);
    }

    /**
     * Blocks fold from two lines on (a block is worth folding as soon as it has a body line);
     * the line of a closing bracket stays visible, a comment folds whole.
     */
    protected override toFoldingRange(document: LangiumDocument, node: CstNode, kind?: string): FoldingRange | undefined {
        const { start, end } = node.range;
        if (end.line - start.line < 1) {
            return undefined;
        }
        let last = end;
        if (kind !== FoldingRangeKind.Comment && !this.includeLastFoldingLine(node, kind)) {
            last = document.textDocument.positionAt(document.textDocument.offsetAt({ line: end.line, character: 0 }) - 1);
        }
        if (last.line <= start.line) {
            return undefined;
        }
        return FoldingRange.create(start.line, last.line, start.character, last.character, kind);
    }

    protected override collectCommentFolding(document: LangiumDocument, node: AstNode, acceptor: FoldingRangeAcceptor): void {
        super.collectCommentFolding(document, node, acceptor);
        const lines = document.textDocument.getText().split(/\r?\n/);
        let first = -1;
        const flush = (end: number) => {
            if (first >= 0 && end - first >= 1) {
                acceptor(FoldingRange.create(first, end, undefined, undefined, FoldingRangeKind.Comment));
            }
            first = -1;
        };
        lines.forEach((line, i) => {
            if (/^\s*\/\//.test(line)) {
                if (first < 0) {
                    first = i;
                }
            } else {
                flush(i - 1);
            }
        });
        flush(lines.length - 1);
    }
}
