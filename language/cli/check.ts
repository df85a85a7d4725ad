/** `iommu-scenarios check FILE...`: parse, link, simulate; diagnostics as `file:line:col: severity: message [code]`. */

import { relative } from 'node:path';
import type { LangiumDocument } from 'langium';
import type { LoadedWorkspace } from './workspace.js';

const SEVERITY = ['', 'error', 'warning', 'info', 'hint'] as const;

export interface CheckDiagnostic {
    readonly file: string;
    readonly line: number;
    readonly column: number;
    readonly endLine: number;
    readonly endColumn: number;
    readonly severity: 'error' | 'warning' | 'info' | 'hint';
    readonly code: string;
    readonly message: string;
}

/** Diagnostics of the documents, 1-based lines and columns (the one place the CLI converts). */
export function collectDiagnostics(ws: LoadedWorkspace, cwd: string): CheckDiagnostic[] {
    const out: CheckDiagnostic[] = [];
    for (const doc of ws.documents) {
        out.push(...documentDiagnostics(doc, cwd));
    }
    return out;
}

export function documentDiagnostics(doc: LangiumDocument, cwd: string): CheckDiagnostic[] {
    const file = relative(cwd, doc.uri.fsPath) || doc.uri.fsPath;
    return (doc.diagnostics ?? [])
        .map((d) => ({
            file,
            line: d.range.start.line + 1,
            column: d.range.start.character + 1,
            endLine: d.range.end.line + 1,
            endColumn: d.range.end.character + 1,
            severity: SEVERITY[d.severity ?? 1] as CheckDiagnostic['severity'],
            code: typeof d.code === 'string' || typeof d.code === 'number' ? String(d.code) : 'error',
            message: typeof d.message === 'string' ? d.message : d.message.value,
        }))
        .sort((a, b) => a.line - b.line || a.column - b.column);
}

export function formatDiagnostic(d: CheckDiagnostic): string {
    return `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message} [${d.code}]`;
}
