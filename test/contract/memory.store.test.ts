import { describe } from 'vitest';
import { MemoryStore } from '../../src/adapters/memory/memory.store.js';
import { testStoreContract } from './store-contract.js';

describe('store contract: memory', () => {
  testStoreContract({
    async create() {
      const store = new MemoryStore();
      return { store, cleanup: () => store.close() };
    },
  });
});
