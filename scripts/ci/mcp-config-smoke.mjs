// Runs the README's Claude Desktop config line as an MCP client would: reads the
// JSON between the `claude-desktop-config` markers of README.md, starts its
// command (the documented absolute path mapped onto the installed bin: argv
// unchanged) through the MCP SDK's stdio client, and calls the `whoami` tool of
// the fixture server the registry hands it. Usage: node mcp-config-smoke.mjs BIN_DIR EXPECTED_NAME
// (environment: MARCUS_REGISTRY_DIR of the registry to use).
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [binDir, expected] = process.argv.slice(2);
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const block = /<!-- claude-desktop-config -->\s*```json\s*([\s\S]*?)```/.exec(readme);
if (!block) throw new Error('README.md has no claude-desktop-config block');
const config = JSON.parse(block[1]);
const server = config.mcpServers?.marcus;
if (typeof server?.command !== 'string' || !Array.isArray(server.args)) throw new Error(`unexpected config: ${block[1]}`);
if (!server.command.startsWith('/')) throw new Error(`the documented command must be an absolute path, got ${server.command}`);
const command = join(binDir, basename(server.command));
const transport = new StdioClientTransport({ command, args: server.args, env: { ...process.env }, stderr: 'inherit' });
const client = new Client({ name: 'pack-smoke', version: '1.0.0' });
const timer = setTimeout(() => {
  console.error('mcp config smoke: no answer within 60 s');
  process.exit(1);
}, 60_000);
await client.connect(transport);
const result = await client.callTool({ name: 'whoami', arguments: {} });
const who = JSON.parse(result.content[0].text);
if (who.name !== expected) throw new Error(`whoami answered ${JSON.stringify(who)}, expected name ${expected}`);
await client.close();
clearTimeout(timer);
console.log(`mcp config smoke: ${command} ${server.args.join(' ')} → ${who.name} (pid ${who.pid})`);
