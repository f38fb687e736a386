// The UI's run-time settings from the gateway (GET /config.json): one build for every place.
import type { WebConfig } from "./types";

let config: Promise<WebConfig> | null = null;

export function webConfig(): Promise<WebConfig> {
  config ??= fetch("/config.json").then((r) => {
    if (!r.ok) throw new Error(`config.json: ${r.status}`);
    return r.json() as Promise<WebConfig>;
  });
  return config;
}
