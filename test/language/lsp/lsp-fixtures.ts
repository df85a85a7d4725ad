/**
 * Shared text and small drivers for the editor-feature tests: a machine whose groups are known
 * (`nvme0` alone in group 2 behind an ACS port; `nic0` and `nic1` together in group 1 behind a
 * port without ACS), a scenario on it, and helpers that run a provider at a `<|>` marker.
 */

import type { LangiumDocument } from 'langium';
import { parseDocument, replaceIndices } from 'langium/test';
import type { CompletionItem, Hover, InlayHint } from 'vscode-languageserver';
import { iommu } from '../helpers.js';

/** A machine: group 0 is rp0, group 2 nvme0, group 1 rp1 + nic0 + nic1 (no ACS on rp1). */
export const BOX = `machine box {
    iommu dmar0 intel-vtd { features intr-remap coherent }
    pci 0000 iommu dmar0 {
        root-port 00:1c.0 rp0 acs {
            endpoint 01:00.0 nvme0 { driver nvme }
        }
        root-port 00:1d.0 rp1 {
            endpoint 02:00.0 nic0 { driver ixgbe }
            endpoint 02:00.1 nic1 { driver ixgbe }
        }
    }
}
`;

/** `BOX` and a scenario on it wrapping `body` in `process qemu { ... }`. */
export function onBox(body: string, more = ''): string {
    return `${BOX}\nscenario s on box {\n    process qemu {\n${body}\n    }\n${more}}\n`;
}

/** Parses and validates (which runs the engine) the text without its markers. */
export async function documentOf(text: string): Promise<{ document: LangiumDocument; indices: number[]; ranges: Array<[number, number]> }> {
    const { output, indices, ranges } = replaceIndices({ text });
    const document = await parseDocument(iommu, output, { validation: true });
    return { document, indices, ranges };
}

/** The hover's markdown at the first `<|>`. */
export async function hoverAt(text: string): Promise<string | undefined> {
    const { document, indices } = await documentOf(text);
    const hover: Hover | undefined = await iommu.lsp.HoverProvider!.getHoverContent(document, {
        textDocument: { uri: document.uri.toString() }, position: document.textDocument.positionAt(indices[0]!),
    });
    const contents = hover?.contents;
    return contents && typeof contents === 'object' && 'value' in contents ? contents.value : undefined;
}

/** All inlay hints of a document, as `line:character label` (1-based line). */
export async function inlayHintsOf(text: string): Promise<string[]> {
    const { document } = await documentOf(text);
    const hints: InlayHint[] = await iommu.lsp.InlayHintProvider!.getInlayHints(document, {
        textDocument: { uri: document.uri.toString() },
        range: { start: { line: 0, character: 0 }, end: document.textDocument.positionAt(document.textDocument.getText().length) },
    }) ?? [];
    return hints.map(h => `${h.position.line + 1}:${h.position.character} ${typeof h.label === 'string' ? h.label : h.label.map(p => p.value).join('')}`);
}

/** The completion items at the first `<|>`. */
export async function completionAt(text: string): Promise<CompletionItem[]> {
    const { document, indices } = await documentOf(text);
    const list = await iommu.lsp.CompletionProvider!.getCompletion(document, {
        textDocument: { uri: document.uri.toString() }, position: document.textDocument.positionAt(indices[0]!),
    });
    return list?.items ?? [];
}

/** The 1-based line of the first line containing `needle`. */
export function lineNumber(text: string, needle: string): number {
    const index = text.indexOf(needle);
    if (index < 0) {
        throw new Error(`'${needle}' not in text`);
    }
    return text.slice(0, index).split('\n').length;
}
