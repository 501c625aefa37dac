/** The hexagon's dependency rule, checked in CI (npm run depcheck). */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain imports only itself and zod: no ports, adapters, app, I/O or drivers.',
      severity: 'error',
      from: { path: '^src/domain' },
      to: {
        pathNot: ['^src/domain', 'node_modules/zod'],
      },
    },
    {
      name: 'ports-depend-on-domain-only',
      comment: 'src/ports are interfaces over the domain: nothing else, not even node built-ins.',
      severity: 'error',
      from: { path: '^src/ports' },
      to: { pathNot: ['^src/ports', '^src/domain'] },
    },
    {
      name: 'inversify-only-in-the-composition-root',
      comment:
        'The container and its metadata load at the first createRegistry() (ADR 0035): only the composition root imports inversify; decorators elsewhere would run its code at every import of the library.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/app/composition-root\\.ts$' },
      to: { path: ['node_modules/inversify', 'node_modules/@inversifyjs', 'node_modules/reflect-metadata'] },
    },
    {
      name: 'adapters-never-import-app',
      severity: 'error',
      from: { path: '^src/adapters' },
      to: { path: ['^src/app', 'node_modules/inversify'] },
    },
    {
      name: 'adapters-do-not-import-each-other',
      comment: 'Each adapter folder stands alone; shared helpers belong in the domain or a port.',
      severity: 'error',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/', pathNot: ['^src/adapters/$1/', '^src/adapters/shared/'] },
    },
    {
      name: 'front-ends-use-the-facade',
      comment:
        'The front ends (src/interfaces/cli, src/interfaces/http) reach stores only through the ServiceRegistry facade: no adapters, no store factory, no DI wiring.',
      severity: 'error',
      from: { path: '^src/interfaces/' },
      to: { path: ['^src/adapters/', '^src/app/store-factory', '^src/app/tokens', 'node_modules/inversify'] },
    },
    {
      name: 'core-never-imports-front-ends',
      comment: 'The core (domain, ports, adapters, app) knows nothing of its front ends: they are its clients.',
      severity: 'error',
      from: { path: '^src/(domain|ports|adapters|app)/' },
      to: { path: '^src/interfaces/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
