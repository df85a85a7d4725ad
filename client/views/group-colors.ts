/**
 * One palette for IOMMU groups, shared by the groups tree (icon colours) and the topology picture
 * (regions): group N gets colour N mod 8. The colours are contributed theme colours
 * (`iommu.group0`..`iommu.group7` in package.json), so themes may change them; webviews see them
 * as CSS variables `--vscode-iommu-group0`...
 */

/** Default colours (dark and light themes alike): distinct hues, readable on both. */
export const GROUP_PALETTE: readonly string[] = [
    '#4e9cf5', '#f5a623', '#3ec28f', '#e0607e', '#a77bf3', '#d9c84a', '#46c3d6', '#f07f4f',
];

/** The theme colour id of a group. */
export function groupColorId(group: number): string {
    return `iommu.group${((group % GROUP_PALETTE.length) + GROUP_PALETTE.length) % GROUP_PALETTE.length}`;
}

/** A CSS colour for a group in a webview: the theme's colour, else the default. */
export function groupCssColor(group: number | null): string {
    if (group === null) {
        return 'var(--vscode-disabledForeground, #888888)';
    }
    const index = ((group % GROUP_PALETTE.length) + GROUP_PALETTE.length) % GROUP_PALETTE.length;
    return `var(--vscode-iommu-group${index}, ${GROUP_PALETTE[index]})`;
}
