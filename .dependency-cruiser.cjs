// The layering rules of docs/ARCHITECTURE.md, checked by `npm run deps`
// (part of `npm test`). Shared layers sit below the components; a component
// never reaches into another component; nothing is circular.
const COMPONENTS = ['bridge', 'gateway', 'recorder', 'web'];
const component = (name) => `^${name}/`;

/** For each layer, the folders of ours it may import (besides itself and node_modules). */
const MAY_USE = {
  common: [],
  protocol: ['common'],
  media: ['common', 'protocol'],
  queue: ['common', 'protocol'],
  bridge: ['common', 'protocol', 'queue'],
  gateway: ['common', 'protocol', 'media'],
  recorder: ['common', 'protocol', 'media', 'queue'],
  web: ['common', 'protocol'],
};
const LAYERS = Object.keys(MAY_USE);

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle means two modules cannot be understood (or tested) apart.',
      from: {},
      to: { circular: true },
    },
    ...COMPONENTS.map((name) => ({
      name: `no-cross-component-${name}`,
      severity: 'error',
      comment: `${name}/ is a component: others reach it only over the published protocol, never through its files.`,
      from: { path: `^(${LAYERS.filter((other) => other !== name).join('|')})/` },
      to: { path: component(name) },
    })),
    ...LAYERS.map((layer) => ({
      name: `layer-${layer}`,
      severity: 'error',
      comment: `${layer}/ may use only ${MAY_USE[layer].join(', ') || 'itself and packages'}.`,
      from: { path: `^${layer}/` },
      to: { path: `^(${LAYERS.filter((other) => other !== layer && !MAY_USE[layer].includes(other)).join('|')})/` },
    })),
    {
      name: 'web-no-node',
      severity: 'error',
      comment: 'The web client runs in a browser: no Node built-ins, through any shared module it uses.',
      from: { path: '^web/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(node_modules|dist)/' },
    // swc, not tsc: dependency-cruiser cannot use TypeScript 7 yet, and without a
    // TypeScript parser it silently skips .ts files it does not reach by import.
    parser: 'swc',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
