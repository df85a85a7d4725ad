/** `iommu-scenarios dap`: the debug adapter over stdio from the command line, for other editors. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { afterAll, beforeAll, expect, test } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let dc: DebugClient;

beforeAll(async () => {
    // The bundle is built once for the whole run by test/global-setup.ts.
    // The fixture runs `out/server/cli.cjs dap`: DebugClient cannot pass arguments itself.
    dc = new DebugClient(process.execPath, join(root, 'test', 'protocol', 'fixtures', 'cli-dap.cjs'), 'iommu', { cwd: root });
    dc.defaultTimeout = 20_000;
    await dc.start();
});

afterAll(async () => {
    await dc.stop();
});

test('initialize, launch an example, stop on entry at its first statement', async () => {
    const init = await dc.initializeRequest({ adapterID: 'iommu', pathFormat: 'path', linesStartAt1: true, columnsStartAt1: true });
    expect(init.body?.supportsStepBack).toBe(true);
    const program = join(root, 'examples', '02-legacy-vfio.iommu');
    await Promise.all([
        dc.configurationSequence(),
        dc.launch({ program, scenario: 'assign_nic', stopOnEntry: true } as never),
        dc.assertStoppedLocation('entry', { path: program, line: 22 }),
    ]);
});
