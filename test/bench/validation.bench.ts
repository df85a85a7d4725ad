/**
 * Validation of a 10,000-statement scenario, as the language server does it on each change:
 * parse, link, lower and simulate. Measures the first validation, a re-validation after an edit
 * near the end (the run restarts from the snapshot before the changed step) and one after an
 * edit near the start, and what the per-step snapshots cost in memory.
 */

import { EmptyFileSystem, URI, type LangiumDocument } from 'langium';
import { createIommuServices } from '../../language/iommu-module.js';
import type { IommuFile } from '../../language/generated/ast.js';

const STATEMENTS = 10_000;

function scenarioText(variant: { firstIova: number; lastLen: number }): string {
    const lines = [
        'machine bench {',
        '    iommu dmar0 intel-vtd { address-width 48 page-sizes 4K 2M 1G features coherent enforce-coherency intr-remap }',
        '    pci 0000 iommu dmar0 { root-port 00:01.0 rp0 acs { endpoint 01:00.0 nic0 { driver ixgbe } } }',
        '}',
        'scenario big on bench {',
        '    process vmm {',
        '        unbind nic0',
        '        bind nic0 vfio-pci',
        '        let container = open "/dev/vfio/vfio"',
        '        let group = open vfio-group(nic0)',
        '        VFIO_GROUP_SET_CONTAINER(group, container)',
        '        VFIO_SET_IOMMU(container, VFIO_TYPE1v2_IOMMU)',
        '        let ram = mmap 64M',
        '        let dev = VFIO_GROUP_GET_DEVICE_FD(group, nic0)',
    ];
    const fixed = lines.length - 6;
    const pairs = (STATEMENTS - fixed) / 2;
    for (let i = 0; i < pairs; i++) {
        const iova = (i === 0 ? variant.firstIova : 0x1000_0000 + i * 0x1000).toString(16);
        lines.push(`        VFIO_IOMMU_MAP_DMA(container, vaddr: ram + ${(i % 16000) * 4096}, iova: 0x${iova}, size: 4K, flags: READ | WRITE)`);
        lines.push(`        dma nic0 write 0x${iova} len ${i === pairs - 1 ? variant.lastLen : 64}`);
    }
    lines.push('    }', '}');
    return lines.join('\n');
}

function heapMb(): number {
    globalThis.gc?.();
    const m = process.memoryUsage();
    return (m.heapUsed + m.arrayBuffers) / (1024 * 1024);
}

export async function run(): Promise<Record<string, number | string>> {
    const { shared, iommu } = createIommuServices(EmptyFileSystem);
    const uri = URI.parse('file:///bench/big.iommu');
    const documents = shared.workspace.LangiumDocuments;
    const factory = shared.workspace.LangiumDocumentFactory;
    const builder = shared.workspace.DocumentBuilder;

    async function validate(text: string): Promise<{ ms: number; doc: LangiumDocument }> {
        if (documents.hasDocument(uri)) {
            documents.deleteDocument(uri);
        }
        const doc = factory.fromString(text, uri);
        documents.addDocument(doc);
        const t = performance.now();
        await builder.build([doc], { validation: true });
        return { ms: performance.now() - t, doc };
    }

    const before = heapMb();
    const first = await validate(scenarioText({ firstIova: 0x1000_0000, lastLen: 64 }));
    const after = heapMb();
    const scenario = (first.doc.parseResult.value as IommuFile).scenarios[0]!;
    const sim = iommu.simulation.ScenarioSimulator.cached(scenario);
    const steps = sim?.program.steps.length ?? 0;
    const errors = (first.doc.diagnostics ?? []).filter((d) => d.severity === 1).length;

    const atEnd = await validate(scenarioText({ firstIova: 0x1000_0000, lastLen: 128 }));
    const endSim = iommu.simulation.ScenarioSimulator.cached((atEnd.doc.parseResult.value as IommuFile).scenarios[0]!);
    const atStart = await validate(scenarioText({ firstIova: 0x0fff_f000, lastLen: 128 }));
    const startSim = iommu.simulation.ScenarioSimulator.cached((atStart.doc.parseResult.value as IommuFile).scenarios[0]!);

    return {
        'statements': STATEMENTS,
        'steps run': steps,
        'error diagnostics': errors,
        'first validation (ms)': first.ms,
        'edit near the end: re-validation (ms)': atEnd.ms,
        'edit near the end: ticks reused': endSim?.run.reusedTicks ?? 0,
        'edit near the start: re-validation (ms)': atStart.ms,
        'edit near the start: ticks reused': startSim?.run.reusedTicks ?? 0,
        'heap + buffers after first validation (MiB)': after - before,
        'per step (KiB)': ((after - before) * 1024) / Math.max(steps, 1),
    };
}
