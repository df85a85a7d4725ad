/**
 * The services work on a real file system too (the CLI and the server use `NodeFileSystem`):
 * a workspace folder is loaded, built and validated; a scenario links to a machine of another
 * file. Also checks the repository's own examples, if any.
 */

import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { URI } from 'langium';
import { NodeFileSystem } from 'langium/node';
import type { IommuFile } from '../../language/generated/ast.js';
import { createIommuServices } from '../../language/iommu-module.js';
import { describeDiagnostics, fixture, WORKSTATION } from './helpers.js';

const folder = mkdtempSync(join(tmpdir(), 'iommu-workspace-'));

afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
});

describe('services on the Node file system', () => {
    test('load a workspace folder, link across its files, validate and lower', async () => {
        writeFileSync(join(folder, 'machine.iommu'), WORKSTATION);
        writeFileSync(join(folder, 'scenario.iommu'), fixture('contract/assign-nic.iommu').slice(fixture('contract/assign-nic.iommu').indexOf('scenario assign_nic')));
        const { shared, iommu } = createIommuServices(NodeFileSystem);
        await shared.workspace.WorkspaceManager.initializeWorkspace([{ name: 'w', uri: URI.file(folder).toString() }]);
        const documents = shared.workspace.LangiumDocuments.all.toArray();
        expect(documents.map(d => d.uri.path.split('/').pop()).sort()).toEqual(['machine.iommu', 'scenario.iommu']);
        await shared.workspace.DocumentBuilder.build(documents, { validation: true });
        for (const document of documents) {
            expect(describeDiagnostics(document)).toEqual([]);
        }
        const scenarioDocument = documents.find(d => d.uri.path.endsWith('scenario.iommu'))!;
        const [lowered] = iommu.lowering.ScenarioLowering.scenariosOf(scenarioDocument);
        expect(lowered!.program!.machine.name).toBe('workstation');
        expect(lowered!.program!.steps).toHaveLength(15);
        expect((scenarioDocument.parseResult.value as IommuFile).scenarios[0]!.machine.ref?.$container.$document?.uri.path)
            .toMatch(/machine\.iommu$/);
    });

    const examples = resolve('examples');
    const repositoryExamples = existsSync(examples) ? readdirSync(examples).filter(f => f.endsWith('.iommu')) : [];
    test.runIf(repositoryExamples.length > 0)('the repository\'s examples/ build without issues', async () => {
        const { shared } = createIommuServices(NodeFileSystem);
        await shared.workspace.WorkspaceManager.initializeWorkspace([{ name: 'examples', uri: URI.file(examples).toString() }]);
        const documents = shared.workspace.LangiumDocuments.all.toArray();
        await shared.workspace.DocumentBuilder.build(documents, { validation: true });
        for (const document of documents) {
            expect(describeDiagnostics(document), document.uri.path).toEqual([]);
        }
    });
});
