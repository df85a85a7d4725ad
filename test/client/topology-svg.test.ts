import { describe, expect, test } from 'vitest';
import type { MachineTopology, TopologyNode } from '../../language/protocol/messages.js';
import { groupColorId, groupCssColor, GROUP_PALETTE } from '../../client/views/group-colors.js';
import { escapeXml, layoutMachine, machineSvg, NODE_W, topologyBody, topologyDocument } from '../../client/views/topology-svg.js';

function node(name: string, devName: string, type: string, group: number | null, children: TopologyNode[] = [], extra: Partial<TopologyNode> = {}): TopologyNode {
    return { name, devName, type, group, driver: type === 'endpoint' ? 'ixgbe' : 'pcieport', acs: null, multifunction: false, children, ...extra };
}

/** The fixture of the e2e test: rp0 (ACS) → nvme0; rp1 (no ACS) → nic0, nic1 (one group). */
const machine: MachineTopology = {
    name: 'e2e_box',
    iommus: [{ name: 'dmar0', kind: 'intel-vtd', features: ['coherent'] }],
    segments: [{
        segment: 0, iommu: 'dmar0', nodes: [
            node('rp0', '0000:00:1c.0', 'root-port', 0, [node('nvme0', '0000:01:00.0', 'endpoint', 2)], { acs: 'acs' }),
            node('rp1', '0000:00:1d.0', 'root-port', 1, [
                node('nic0', '0000:02:00.0', 'endpoint', 1, [], { multifunction: true, range: { start: { line: 14, character: 12 }, end: { line: 14, character: 40 } } }),
                node('nic1', '0000:02:00.1', 'endpoint', 1, [], { multifunction: true }),
            ]),
        ],
    }],
    groups: [
        { id: 0, viable: true, devices: [{ name: 'rp0', devName: '0000:00:1c.0', driver: 'pcieport', type: 'root-port' }] },
        { id: 1, viable: false, why: 'nic1 is bound to ixgbe', devices: [] },
        { id: 2, viable: false, devices: [] },
    ],
};

describe('topology layout', () => {
    const layout = layoutMachine(machine);
    const at = (key: string) => layout.nodes.find((n) => n.key === key)!;

    test('leaves side by side, parents centred above their children, one row per depth', () => {
        expect(layout.nodes.map((n) => n.key)).toEqual([
            'segment/0000', '0000/0000:00:1c.0', '0000/0000:01:00.0', '0000/0000:00:1d.0', '0000/0000:02:00.0', '0000/0000:02:00.1',
        ]);
        const [nvme, nic0, nic1] = [at('0000/0000:01:00.0'), at('0000/0000:02:00.0'), at('0000/0000:02:00.1')];
        expect(nvme.x).toBeLessThan(nic0.x);
        expect(nic0.x + NODE_W).toBeLessThan(nic1.x);
        expect(at('0000/0000:00:1d.0').x).toBe((nic0.x + nic1.x) / 2);
        expect(at('0000/0000:00:1c.0').x).toBe(nvme.x);
        expect(new Set([nvme.y, nic0.y, nic1.y]).size).toBe(1);
        expect(at('segment/0000').y).toBeLessThan(at('0000/0000:00:1c.0').y);
        expect(layout.width).toBeGreaterThan(nic1.x + NODE_W);
        expect(layout.height).toBeGreaterThan(nic1.y);
    });

    test('a region per connected part of a group: rp1 with nic0 and nic1 is one, rp0 and nvme0 are two', () => {
        const byGroup = (g: number) => layout.regions.filter((r) => r.group === g);
        expect(byGroup(1)).toHaveLength(1);
        expect(byGroup(0)).toHaveLength(1);
        expect(byGroup(2)).toHaveLength(1);
        const g1 = byGroup(1)[0]!;
        for (const key of ['0000/0000:00:1d.0', '0000/0000:02:00.0', '0000/0000:02:00.1']) {
            const n = at(key);
            expect(n.x).toBeGreaterThan(g1.x);
            expect(n.x + NODE_W).toBeLessThan(g1.x + g1.w);
            expect(n.y).toBeGreaterThan(g1.y);
        }
        // the region of group 1 does not reach over nvme0
        expect(g1.x).toBeGreaterThan(at('0000/0000:01:00.0').x + NODE_W);
    });

    test('siblings of one group that are not adjacent get separate regions', () => {
        const split: MachineTopology = {
            ...machine,
            segments: [{ segment: 1, nodes: [node('a', '0001:00:01.0', 'endpoint', 5), node('b', '0001:00:02.0', 'endpoint', 6), node('c', '0001:00:03.0', 'endpoint', 5)] }],
        };
        expect(layoutMachine(split).regions.filter((r) => r.group === 5)).toHaveLength(2);
    });
});

describe('topology SVG', () => {
    const svg = machineSvg(machine);

    test('boxes carry name, address, driver and group; ACS, no ACS and multifunction are marked', () => {
        expect(svg).toContain('aria-label="nic1 0000:02:00.1 group 1"');
        expect(svg).toContain('>02:00.1 · ixgbe<');
        expect(svg.match(/class="badge acs"/g)).toHaveLength(1);
        expect(svg.match(/class="badge no-acs"/g)).toHaveLength(1);
        expect(svg.match(/class="badge mf"/g)).toHaveLength(2);
        expect(svg.match(/class="region"/g)).toHaveLength(3);
        expect(svg.match(/class="edge"/g)).toHaveLength(5);
        expect(svg).toContain('>pci 0000<');
    });

    test('a device with a source range can be clicked to reveal it', () => {
        expect(svg).toContain(`data-range="${escapeXml(JSON.stringify({ start: { line: 14, character: 12 }, end: { line: 14, character: 40 } }))}"`);
    });

    test('bridges are drawn differently and say so', () => {
        const bridged = machineSvg({ ...machine, segments: [{ segment: 0, nodes: [node('legacy', '0000:00:1e.0', 'pcie-to-pci-bridge', 4, [node('snd', '0000:03:00.0', 'endpoint', 4)])] }] });
        expect(bridged).toContain('<polygon class="box"');
        expect(bridged).toContain('class="badge bridge"');
    });

    test('text is escaped', () => {
        expect(escapeXml('<a href="x">&\'')).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&#39;');
        const evil = machineSvg({ ...machine, name: '<script>', segments: [{ segment: 0, nodes: [node('<b>', '0000:00:01.0', 'endpoint', null)] }] });
        expect(evil).not.toContain('<script>');
        expect(evil).not.toContain('<b>');
    });

    test('colours come from the theme with the palette as fallback', () => {
        expect(groupCssColor(9)).toBe(`var(--vscode-iommu-group1, ${GROUP_PALETTE[1]})`);
        expect(groupColorId(16)).toBe('iommu.group0');
        expect(groupCssColor(null)).toContain('disabledForeground');
    });
});

describe('topology document', () => {
    test('a legend of the groups, viability and IOMMU units', () => {
        const body = topologyBody({ machines: [machine] });
        expect(body).toContain('<h2>machine e2e_box</h2>');
        expect(body).toContain('dmar0 <span class="kind">intel-vtd</span>');
        expect(body).toMatch(/data-group="1" title="nic1 is bound to ixgbe"/);
        expect(body.match(/<span class="warn">not viable/g)).toHaveLength(2);
        expect(topologyBody({ machines: [] })).toContain('no machine');
    });

    test('scripts run only with the nonce', () => {
        const html = topologyDocument({ body: '<p>x</p>', cspSource: 'https://csp', nonce: 'abc', styleUri: 's.css', scriptUri: 't.js', title: 'T' });
        expect(html).toContain("script-src 'nonce-abc'");
        expect(html).toContain("default-src 'none'");
        expect(html).toContain('<script nonce="abc" src="t.js"></script>');
    });
});
