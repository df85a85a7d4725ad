/**
 * "Did you mean ...?": the known names closest to an unknown one, for diagnostics.
 * One place decides what counts as close, so every unknown-name message suggests alike.
 */

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
    const rows = a.length + 1;
    const cols = b.length + 1;
    const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i < rows; i++) {
        for (let j = 1; j < cols; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                best = Math.min(best, d[i - 2]![j - 2]! + 1);
            }
            d[i]![j] = best;
        }
    }
    return d[rows - 1]![cols - 1]!;
}

/**
 * The candidates closest to `name`, best first: those within an edit distance of about a third of
 * the name (at most 4; case-insensitive), or containing it / contained in it, and no more than one
 * edit worse than the best of them; ties keep the candidates' order.
 */
export function closestNames(name: string | undefined, candidates: Iterable<string>, max = 3): string[] {
    if (!name) {
        return [];
    }
    const wanted = name.toLowerCase();
    const limit = Math.min(4, Math.max(1, Math.floor(wanted.length / 3)));
    const scored: Array<{ name: string; score: number; order: number }> = [];
    const seen = new Set<string>();
    let order = 0;
    for (const candidate of candidates) {
        if (seen.has(candidate) || candidate === name) {
            continue;
        }
        seen.add(candidate);
        const lower = candidate.toLowerCase();
        const distance = editDistance(wanted, lower);
        const related = wanted.length >= 3 && (lower.includes(wanted) || wanted.includes(lower));
        if (distance <= limit || related) {
            scored.push({ name: candidate, score: related ? Math.min(distance, limit) : distance, order: order++ });
        }
    }
    scored.sort((x, y) => x.score - y.score || x.order - y.order);
    const best = scored[0]?.score ?? 0;
    return scored.filter(s => s.score <= best + 1).slice(0, max).map(s => s.name);
}

/** `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`. */
export function formatAlternatives(names: readonly string[]): string {
    const quoted = names.map(n => `'${n}'`);
    return quoted.length <= 1 ? quoted.join('') : `${quoted.slice(0, -1).join(', ')} or ${quoted[quoted.length - 1]}`;
}

/** `; did you mean 'nic0' or 'nic1'?`, or the empty string when nothing is close. */
export function didYouMean(name: string | undefined, candidates: Iterable<string>, max = 3): string {
    const close = closestNames(name, candidates, max);
    return close.length === 0 ? '' : `; did you mean ${formatAlternatives(close)}?`;
}
