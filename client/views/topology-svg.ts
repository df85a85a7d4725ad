/**
 * The topology picture: each machine's PCI tree laid out top-down, IOMMU groups as coloured
 * regions behind their devices, ACS and bridges marked. Pure functions from an `iommu/topology`
 * result to SVG/HTML text; `client/topology-panel.ts` puts it in a webview.
 */

import type { GroupInfo, MachineTopology, Range, TopologyNode, TopologyResult, TopologySegment } from '../../language/protocol/messages.js';
import { groupCssColor } from './group-colors.js';

export const NODE_W = 164;
export const NODE_H = 50;
const H_GAP = 20;
const V_GAP = 48;
const MARGIN = 16;
/** Padding of a group region around its devices; the top holds the region's label. */
const PAD = 8;
const PAD_TOP = 20;

/** A box in the picture: a segment (the root of its tree) or a PCI function. */
export interface PlacedNode {
    readonly key: string;
    readonly x: number;
    readonly y: number;
    readonly depth: number;
    readonly parent?: PlacedNode;
    /** Undefined for a segment's root box. */
    readonly node?: TopologyNode;
    readonly segment: TopologySegment;
}

/** A group's region: a box around devices of one group that touch (parent and child, or adjacent siblings). */
export interface Region {
    readonly group: number;
    readonly x: number;
    readonly y: number;
    readonly w: number;
    readonly h: number;
}

export interface Layout {
    readonly nodes: readonly PlacedNode[];
    readonly regions: readonly Region[];
    readonly width: number;
    readonly height: number;
}

/** Segment number as Linux prints it: `0000`. */
export function segmentName(segment: number): string {
    return segment.toString(16).padStart(4, '0');
}

/** Lays the segments of a machine out side by side, each as a tree under its root box. */
export function layoutMachine(machine: MachineTopology): Layout {
    const nodes: PlacedNode[] = [];
    let slot = 0;
    let maxDepth = 0;
    const yOf = (depth: number): number => MARGIN + PAD_TOP + depth * (NODE_H + V_GAP);

    type Mutable = { -readonly [K in keyof PlacedNode]: PlacedNode[K] };
    function place(segment: TopologySegment, node: TopologyNode | undefined, children: readonly TopologyNode[], depth: number, parent?: PlacedNode): PlacedNode {
        maxDepth = Math.max(maxDepth, depth);
        const key = node ? `${segmentName(segment.segment)}/${node.devName}` : `segment/${segmentName(segment.segment)}`;
        const self: Mutable = { key, x: 0, y: yOf(depth), depth, parent, node, segment };
        nodes.push(self);
        if (children.length === 0) {
            self.x = MARGIN + PAD + slot * (NODE_W + H_GAP);
            slot++;
        } else {
            // a parent sits centred above its children
            const placed = children.map((child) => place(segment, child, child.children, depth + 1, self));
            self.x = (placed[0]!.x + placed[placed.length - 1]!.x) / 2;
        }
        return self;
    }

    for (const segment of machine.segments) {
        place(segment, undefined, segment.nodes, 0, undefined);
    }
    const regions = groupRegions(nodes);
    const width = Math.max(MARGIN * 2 + PAD * 2 + Math.max(slot, 1) * (NODE_W + H_GAP) - H_GAP, 200);
    const height = yOf(maxDepth) + NODE_H + PAD + MARGIN;
    return { nodes, regions, width, height };
}

/** Regions of the groups: union of devices of one group that are parent/child or adjacent siblings. */
export function groupRegions(nodes: readonly PlacedNode[]): Region[] {
    const parentOf = new Map<PlacedNode, PlacedNode>();
    const index = new Map<PlacedNode, number>(nodes.map((n, i) => [n, i]));
    const up = nodes.map((_, i) => i);
    const find = (i: number): number => {
        while (up[i] !== i) {
            up[i] = up[up[i]!]!;
            i = up[i]!;
        }
        return i;
    };
    const union = (a: number, b: number): void => {
        up[find(a)] = find(b);
    };
    const groupOf = (n: PlacedNode | undefined): number | null => n?.node?.group ?? null;

    const siblings = new Map<PlacedNode | undefined, PlacedNode[]>();
    for (const n of nodes) {
        if (n.parent) {
            parentOf.set(n, n.parent);
        }
        const list = siblings.get(n.parent) ?? [];
        list.push(n);
        siblings.set(n.parent, list);
    }
    for (const n of nodes) {
        const g = groupOf(n);
        const p = parentOf.get(n);
        if (g !== null && p && groupOf(p) === g) {
            union(index.get(n)!, index.get(p)!);
        }
    }
    for (const list of siblings.values()) {
        const sorted = [...list].sort((a, b) => a.x - b.x);
        for (let i = 1; i < sorted.length; i++) {
            const g = groupOf(sorted[i]);
            if (g !== null && groupOf(sorted[i - 1]) === g) {
                union(index.get(sorted[i]!)!, index.get(sorted[i - 1]!)!);
            }
        }
    }
    const clusters = new Map<number, PlacedNode[]>();
    nodes.forEach((n, i) => {
        if (groupOf(n) === null) {
            return;
        }
        const root = find(i);
        const list = clusters.get(root) ?? [];
        list.push(n);
        clusters.set(root, list);
    });
    const regions: Region[] = [];
    for (const members of clusters.values()) {
        const x0 = Math.min(...members.map((m) => m.x)) - PAD;
        const y0 = Math.min(...members.map((m) => m.y)) - PAD_TOP;
        const x1 = Math.max(...members.map((m) => m.x)) + NODE_W + PAD;
        const y1 = Math.max(...members.map((m) => m.y)) + NODE_H + PAD;
        regions.push({ group: groupOf(members[0])!, x: x0, y: y0, w: x1 - x0, h: y1 - y0 });
    }
    // larger regions first, so nested smaller ones stay visible on top
    return regions.sort((a, b) => b.w * b.h - a.w * a.h || a.group - b.group);
}

/** Escapes text for XML/HTML content and attribute values. */
export function escapeXml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\'': '&#39;' })[c]!);
}

const PORT_TYPES = new Set(['root-port', 'downstream-port', 'upstream-port']);
const BRIDGE_TYPES = new Set(['pci-bridge', 'pcie-to-pci-bridge']);

/** Is this function a bridge or port (something with a secondary bus)? */
export function isBridgeLike(type: string): boolean {
    return PORT_TYPES.has(type) || BRIDGE_TYPES.has(type);
}

/** The short address shown in a box: `02:00.1` (the segment is the tree's root). */
function shortBdf(devName: string): string {
    return devName.replace(/^[0-9a-fA-F]{4}:/, '');
}

function badges(node: TopologyNode): Array<{ text: string; cls: string; title: string }> {
    const out: Array<{ text: string; cls: string; title: string }> = [];
    if (node.acs !== null) {
        out.push({ text: 'ACS', cls: 'acs', title: `Access Control Services: ${node.acs}` });
    } else if (isBridgeLike(node.type)) {
        out.push({ text: 'no ACS', cls: 'no-acs', title: 'No ACS: functions below are not isolated from each other' });
    }
    if (BRIDGE_TYPES.has(node.type)) {
        out.push({ text: 'bridge', cls: 'bridge', title: `${node.type}: DMA below it aliases to the bridge's requester ID` });
    }
    if (node.multifunction) {
        out.push({ text: 'MF', cls: 'mf', title: 'multifunction device' });
    }
    return out;
}

function shape(type: string | undefined, x: number, y: number, style: string): string {
    if (type !== undefined && BRIDGE_TYPES.has(type)) {
        const c = 12;
        const points = [[x + c, y], [x + NODE_W - c, y], [x + NODE_W, y + NODE_H / 2], [x + NODE_W - c, y + NODE_H], [x + c, y + NODE_H], [x, y + NODE_H / 2]];
        return `<polygon class="box" points="${points.map((p) => p.join(',')).join(' ')}" style="${style}"/>`;
    }
    const rx = type === undefined ? 2 : PORT_TYPES.has(type) ? NODE_H / 2 : 6;
    return `<rect class="box" x="${x}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="${rx}" style="${style}"/>`;
}

function rangeAttr(range: Range | undefined): string {
    return range ? ` data-range="${escapeXml(JSON.stringify(range))}"` : '';
}

function nodeSvg(p: PlacedNode, machine: MachineTopology): string {
    const { x, y } = p;
    if (!p.node) {
        const iommu = p.segment.iommu ? ` · ${p.segment.iommu}` : ' · no IOMMU';
        const kind = machine.iommus.find((u) => u.name === p.segment.iommu)?.kind;
        return `<g class="node segment" data-key="${escapeXml(p.key)}">`
            + `<title>PCI segment ${segmentName(p.segment.segment)}${p.segment.iommu ? `, translated by ${escapeXml(p.segment.iommu)}${kind ? ` (${escapeXml(kind)})` : ''}` : ''}</title>`
            + shape(undefined, x, y, 'fill: var(--vscode-editorWidget-background, #252526); stroke: var(--vscode-foreground, #ccc)')
            + `<text class="name" x="${x + NODE_W / 2}" y="${y + 21}">pci ${segmentName(p.segment.segment)}</text>`
            + `<text class="detail" x="${x + NODE_W / 2}" y="${y + 38}">${escapeXml(iommu.slice(3))}${kind ? ` · ${escapeXml(kind)}` : ''}</text>`
            + '</g>';
    }
    const n = p.node;
    const color = groupCssColor(n.group);
    const style = `stroke: ${color}; fill: ${color}`;
    const groupText = n.group === null ? 'no group' : `group ${n.group}`;
    const detail = `${shortBdf(n.devName)} · ${n.driver ?? 'no driver'}`;
    const title = [
        `${n.name} (${n.type})`, n.devName, `driver: ${n.driver ?? 'none'}`, `IOMMU ${groupText}`,
        n.acs !== null ? `ACS: ${n.acs}` : isBridgeLike(n.type) ? 'no ACS' : undefined,
        n.multifunction ? 'multifunction' : undefined,
    ].filter((l): l is string => l !== undefined).join('\n');
    let badgeX = x + NODE_W - 4;
    const badgeSvg = badges(n).map((b) => {
        const w = 8 + b.text.length * 6.2;
        badgeX -= w + 3;
        return `<g class="badge ${b.cls}"><title>${escapeXml(b.title)}</title>`
            + `<rect x="${badgeX}" y="${y - 8}" width="${w}" height="15" rx="7"/>`
            + `<text x="${badgeX + w / 2}" y="${y + 3}">${escapeXml(b.text)}</text></g>`;
    }).join('');
    return `<g class="node ${escapeXml(n.type)}" tabindex="0" role="button" data-key="${escapeXml(p.key)}" data-group="${n.group ?? ''}"`
        + ` aria-label="${escapeXml(`${n.name} ${n.devName} ${groupText}`)}"${rangeAttr(n.range)}>`
        + `<title>${escapeXml(title)}</title>`
        + shape(n.type, x, y, style)
        + `<text class="name" x="${x + NODE_W / 2}" y="${y + 21}">${escapeXml(n.name)}</text>`
        + `<text class="detail" x="${x + NODE_W / 2}" y="${y + 38}">${escapeXml(detail)}</text>`
        + badgeSvg
        + '</g>';
}

function edgeSvg(child: PlacedNode): string {
    const parent = child.parent!;
    const x1 = parent.x + NODE_W / 2;
    const y1 = parent.y + NODE_H;
    const x2 = child.x + NODE_W / 2;
    const y2 = child.y;
    const mid = y1 + (y2 - y1) / 2;
    return `<path class="edge" d="M${x1} ${y1} V${mid} H${x2} V${y2}"/>`;
}

/** The SVG of one machine's PCI topology. */
export function machineSvg(machine: MachineTopology): string {
    const layout = layoutMachine(machine);
    const regions = layout.regions.map((r) => {
        const color = groupCssColor(r.group);
        return `<g class="region" data-group="${r.group}">`
            + `<rect x="${r.x}" y="${r.y}" width="${r.w}" height="${r.h}" rx="12" style="fill: ${color}; stroke: ${color}"/>`
            + `<text x="${r.x + 10}" y="${r.y + 14}" style="fill: ${color}">group ${r.group}</text></g>`;
    }).join('');
    const edges = layout.nodes.filter((n) => n.parent).map(edgeSvg).join('');
    const nodes = layout.nodes.map((n) => nodeSvg(n, machine)).join('');
    return `<svg xmlns="http://www.w3.org/2000/svg" class="topology" role="img" width="${layout.width}" height="${layout.height}"`
        + ` viewBox="0 0 ${layout.width} ${layout.height}" aria-label="PCI topology of machine ${escapeXml(machine.name)}">`
        + `<g class="regions">${regions}</g><g class="edges">${edges}</g><g class="nodes">${nodes}</g></svg>`;
}

function legendHtml(groups: readonly GroupInfo[]): string {
    if (groups.length === 0) {
        return '<p class="empty">No IOMMU groups (no device is translated by an IOMMU).</p>';
    }
    const items = groups.map((g) => {
        const names = g.devices.map((d) => d.name).join(', ');
        return `<li class="group ${g.viable ? 'viable' : 'not-viable'}" data-group="${g.id}" title="${escapeXml(g.why ?? (g.viable ? 'viable' : 'not viable'))}">`
            + `<span class="swatch" style="background: ${groupCssColor(g.id)}"></span>`
            + `<span class="gid">group ${g.id}</span> <span class="devices">${escapeXml(names)}</span>`
            + `${g.viable ? '' : ' <span class="warn">not viable</span>'}</li>`;
    }).join('');
    return `<ul class="legend">${items}</ul>`;
}

/** The body of the topology view: per machine a heading, its IOMMU units, the group legend and the picture. */
export function topologyBody(result: TopologyResult, activeMachine?: string): string {
    if (result.machines.length === 0) {
        return '<p class="empty">This file has no machine.</p>';
    }
    return result.machines.map((m) => {
        const units = m.iommus.map((u) => `${escapeXml(u.name)} <span class="kind">${escapeXml(u.kind)}</span>`
            + (u.features.length > 0 ? ` <span class="features">${escapeXml(u.features.join(' '))}</span>` : '')).join('; ');
        const active = m.name === activeMachine ? ' active' : '';
        return `<section class="machine${active}" data-machine="${escapeXml(m.name)}">`
            + `<h2>machine ${escapeXml(m.name)}</h2>`
            + (units ? `<p class="iommus">IOMMU: ${units}</p>` : '<p class="iommus">No IOMMU</p>')
            + legendHtml(m.groups)
            + `<div class="picture">${machineSvg(m)}</div>`
            + '</section>';
    }).join('');
}

/** The whole webview document. Scripts run only with the nonce; styles and scripts come from `media/`. */
export function topologyDocument(options: {
    readonly body: string;
    readonly cspSource: string;
    readonly nonce: string;
    readonly styleUri: string;
    readonly scriptUri: string;
    readonly title: string;
}): string {
    const csp = [
        "default-src 'none'",
        `style-src ${options.cspSource} 'unsafe-inline'`,
        `script-src 'nonce-${options.nonce}'`,
        `img-src ${options.cspSource} data:`,
    ].join('; ');
    return '<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">'
        + `<meta http-equiv="Content-Security-Policy" content="${csp}">`
        + '<meta name="viewport" content="width=device-width, initial-scale=1.0">'
        + `<link rel="stylesheet" href="${escapeXml(options.styleUri)}">`
        + `<title>${escapeXml(options.title)}</title></head>`
        + `<body><main id="topology">${options.body}</main>`
        + `<script nonce="${options.nonce}" src="${escapeXml(options.scriptUri)}"></script></body></html>`;
}
