/**
 * `fleetpki serve` defaults (DESIGN §5), equal to @fleetpki/server's DEFAULT_DATA_DIR,
 * DEFAULT_HTTP_PORT, DEFAULT_GATEWAY_PORT, DEFAULT_MQTT_PORT and DEFAULT_COAP_PORT (test/management-cli.test.ts checks). The CLI keeps its own copy so that
 * only `serve` loads the server package (HTTP framework, database drivers): importing it is
 * about two thirds of the start-up time of every other command.
 */
export const DEFAULT_DATA_DIR = './fleetpki-data';
export const DEFAULT_HTTP_PORT = 8080;
export const DEFAULT_GATEWAY_PORT = 8443;
export const DEFAULT_MQTT_PORT = 8883;
export const DEFAULT_COAP_PORT = 5684;
