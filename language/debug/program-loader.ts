/**
 * Loads a `.iommu` file from disk for running it outside the editor (the debugger, the CLI): parses
 * and links it together with the `.iommu` files of its folder (so that a machine declared in a
 * sibling file resolves), lowers its scenarios, and says what keeps a scenario from running.
 * Positions stay 0-based here, as everywhere below the translators.
 */

import { readdir } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { URI, type LangiumDocument } from 'langium';
import { NodeFileSystem } from 'langium/node';
import type { SourceLocation } from '../../engine/location.js';
import type { ScenarioProgram } from '../../engine/step.js';
import type { IommuFile } from '../generated/ast.js';
import { createIommuServices } from '../iommu-module.js';
import { locationOf } from '../lowering/source-location.js';

/** Something that keeps a file or a scenario from running: where, and why. */
export interface LoadProblem {
    readonly message: string;
    /** 0-based, with the document URI. */
    readonly loc?: SourceLocation;
}

/** A scenario of the file, lowered. */
export interface LoadedScenario {
    readonly name: string;
    /** Undefined when `problems` holds errors. */
    readonly program?: ScenarioProgram;
    /** Lowering errors of this scenario. */
    readonly problems: readonly LoadProblem[];
    readonly loc?: SourceLocation;
}

/** A loaded file: its scenarios, and the syntax and linking errors that make it unrunnable. */
export interface LoadedProgram {
    /** Absolute file system path. */
    readonly path: string;
    readonly uri: string;
    readonly scenarios: readonly LoadedScenario[];
    /** Lexer, parser and linking errors of the file itself. */
    readonly problems: readonly LoadProblem[];
}

/** Why a scenario cannot be debugged; `problems` carries the diagnostics. */
export class ProgramLoadError extends Error {
    constructor(message: string, readonly problems: readonly LoadProblem[] = []) {
        super(message);
        this.name = 'ProgramLoadError';
    }
}

/** Reads, parses, links and lowers `path` (with its sibling `.iommu` files). */
export async function loadProgram(path: string): Promise<LoadedProgram> {
    const file = resolve(path);
    if (extname(file) !== '.iommu') {
        throw new ProgramLoadError(`${file} is not a .iommu file`);
    }
    // Fresh services per load: a restart must see the files as they are on disk now.
    const { shared, iommu } = createIommuServices({ ...NodeFileSystem });
    const documents = shared.workspace.LangiumDocuments;
    let main: LangiumDocument;
    try {
        main = await documents.getOrCreateDocument(URI.file(file));
    } catch (e) {
        throw new ProgramLoadError(`cannot read ${file}: ${(e as Error).message}`);
    }
    const all = [main];
    for (const sibling of await siblingFiles(file)) {
        try {
            all.push(await documents.getOrCreateDocument(URI.file(sibling)));
        } catch {
            // An unreadable sibling only matters if the file needs a machine from it: linking says so.
        }
    }
    // Only Langium's own checks (syntax, linking): the language's validators would run every
    // scenario of the folder on the engine, and a failing call is what one debugs, not an error.
    await shared.workspace.DocumentBuilder.build(all, { validation: { categories: ['built-in'] } });

    const uri = main.uri.toString();
    const problems: LoadProblem[] = (main.diagnostics ?? [])
        .filter((d) => d.severity === 1)
        .map((d) => ({ message: typeof d.message === 'string' ? d.message : d.message.value, loc: { uri, start: d.range.start, end: d.range.end } }));
    const root = main.parseResult.value as IommuFile;
    const lowering = iommu.lowering.ScenarioLowering;
    const scenarios = (root.scenarios ?? []).map((node): LoadedScenario => {
        if (problems.length > 0) {
            // A file with syntax or linking errors is not lowered: its AST may be partial.
            return { name: node.name, problems: [], loc: locationOf(node) };
        }
        let lowered;
        try {
            lowered = lowering.scenario(node);
        } catch (e) {
            return { name: node.name, problems: [{ message: `scenario ${node.name} cannot be lowered: ${(e as Error).message}`, loc: locationOf(node) }], loc: locationOf(node) };
        }
        const errors: LoadProblem[] = lowered.diagnostics
            .filter((d) => d.severity === 'error')
            .map((d) => ({ message: d.message, loc: locationOf(d.node) }));
        if (!lowered.program && errors.length === 0) {
            errors.push({
                message: node.machine?.ref
                    ? `scenario ${node.name} could not be lowered (its text or its machine's has syntax errors)`
                    : `the machine '${node.machine?.$refText ?? ''}' of scenario ${node.name} does not resolve`,
                loc: locationOf(node),
            });
        }
        return { name: node.name, program: errors.length === 0 ? lowered.program : undefined, problems: errors, loc: locationOf(node) };
    });
    return { path: file, uri, scenarios, problems };
}

/**
 * Loads `path` and picks a scenario to debug: the one named `scenario`, or the first. Throws a
 * {@link ProgramLoadError} when the file has syntax or linking errors, no scenario, no scenario of
 * that name, or when the scenario does not lower.
 */
export async function loadScenarioProgram(path: string, scenario?: string): Promise<{ loaded: LoadedProgram; scenario: LoadedScenario & { program: ScenarioProgram } }> {
    const loaded = await loadProgram(path);
    if (loaded.problems.length > 0) {
        throw new ProgramLoadError(`${loaded.path} has ${loaded.problems.length} error${loaded.problems.length === 1 ? '' : 's'}`, loaded.problems);
    }
    if (loaded.scenarios.length === 0) {
        throw new ProgramLoadError(`${loaded.path} has no scenario to debug`);
    }
    const chosen = scenario === undefined || scenario === '' ? loaded.scenarios[0]! : loaded.scenarios.find((s) => s.name === scenario);
    if (!chosen) {
        throw new ProgramLoadError(`no scenario '${scenario}' in ${loaded.path}; it has ${loaded.scenarios.map((s) => s.name).join(', ')}`);
    }
    if (!chosen.program) {
        throw new ProgramLoadError(`scenario ${chosen.name} cannot run: ${chosen.problems.length} error${chosen.problems.length === 1 ? '' : 's'}`, chosen.problems);
    }
    return { loaded, scenario: { ...chosen, program: chosen.program } };
}

async function siblingFiles(file: string): Promise<string[]> {
    const dir = dirname(file);
    try {
        const names = await readdir(dir);
        return names.filter((n) => extname(n) === '.iommu').map((n) => join(dir, n)).filter((p) => p !== file).sort();
    } catch {
        return [];
    }
}
