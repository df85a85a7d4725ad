// The topology webview: replaces the picture when the extension sends a new one, and asks the
// extension to open a device's source when it is clicked (or activated with Enter/Space).
// @ts-check
(function () {
    // eslint-disable-next-line no-undef
    const vscode = acquireVsCodeApi();
    const main = /** @type {HTMLElement} */ (document.getElementById('topology'));

    window.addEventListener('message', (event) => {
        const message = event.data;
        if (message && message.type === 'update' && typeof message.body === 'string') {
            const x = window.scrollX;
            const y = window.scrollY;
            main.innerHTML = message.body;
            window.scrollTo(x, y);
        }
    });

    function reveal(target) {
        const node = target instanceof Element ? target.closest('[data-range]') : null;
        if (node) {
            vscode.postMessage({ type: 'reveal', range: JSON.parse(node.getAttribute('data-range') || 'null') });
        }
    }
    main.addEventListener('click', (event) => reveal(event.target));
    main.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
            reveal(event.target);
        }
    });
    // highlight a group's region and devices while its legend entry is hovered
    main.addEventListener('mouseover', (event) => {
        const item = event.target instanceof Element ? event.target.closest('.legend [data-group]') : null;
        const section = item ? item.closest('section') : null;
        main.querySelectorAll('.highlight').forEach((e) => e.classList.remove('highlight'));
        if (item && section) {
            section.querySelectorAll(`svg [data-group="${item.getAttribute('data-group')}"]`).forEach((e) => e.classList.add('highlight'));
        }
    });
    vscode.postMessage({ type: 'ready' });
}());
