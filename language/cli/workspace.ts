/**
 * Loads `.iommu` files the way the language server sees a workspace: the given files plus their
 * sibling `.iommu` files (a scenario may run on a machine declared next door), built and
 * validated (which runs the engine).
 */

import { readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { URI, type LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import { createIommuServices, type IommuServices } from '../iommu-module.js';
import type { LangiumSharedServices } from 'langium/lsp';

export interface LoadedWorkspace {
    readonly shared: LangiumSharedServices;
    readonly iommu: IommuServices;
    /** The documents asked for, in the order given. */
    readonly documents: LangiumDocument[];
}

export class CliError extends Error {}

function siblings(file: string): string[] {
    const dir = dirname(file);
    try {
        return readdirSync(dir).filter((f) => f.endsWith('.iommu')).map((f) => join(dir, f));
    } catch {
        return [];
    }
}

export async function loadWorkspace(files: readonly string[]): Promise<LoadedWorkspace> {
    const { shared, iommu } = createIommuServices({ ...NodeFileSystem });
    const paths = files.map((f) => resolve(f));
    for (const p of paths) {
        let st;
        try {
            st = statSync(p);
        } catch {
            throw new CliError(`${p}: no such file`);
        }
        if (!st.isFile()) {
            throw new CliError(`${p}: not a file`);
        }
    }
    const all = new Set([...paths, ...paths.flatMap(siblings)]);
    const docs = shared.workspace.LangiumDocuments;
    const loaded = new Map<string, LangiumDocument>();
    for (const p of all) {
        loaded.set(p, await docs.getOrCreateDocument(URI.file(p)));
    }
    await shared.workspace.DocumentBuilder.build([...loaded.values()], { validation: true });
    return { shared, iommu, documents: paths.map((p) => loaded.get(p)!) };
}
