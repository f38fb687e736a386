// Server-sent events over fetch: EventSource cannot send an Authorization header, and the
// dashboard stream is for admins only.
import { authHeaders } from "./client";

export interface StreamEvent {
  event: string;
  data: string;
}

/** Reads `path` until `signal` aborts, calling `onEvent` per event; reconnects after a drop. */
export async function followStream(
  path: string,
  onEvent: (event: StreamEvent) => void,
  onState: (connected: boolean) => void,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const response = await fetch(`/api${path}`, {
        headers: { Accept: "text/event-stream", ...authHeaders() },
        signal,
      });
      if (!response.ok || !response.body) throw new Error(`stream: ${response.status}`);
      onState(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const parsed = parseBlock(block);
          if (parsed) onEvent(parsed);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    onState(false);
    await new Promise((resolve) => setTimeout(resolve, 3000));
  }
}

function parseBlock(block: string): StreamEvent | null {
  let event = "message";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue; // a heartbeat comment
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return data.length ? { event, data: data.join("\n") } : null;
}
