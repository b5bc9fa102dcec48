/** Counts a management API request by its route template (never the raw path: bounded labels) and status. */
export type RouteCounter = (route: string, status: number) => void;

export const NO_ROUTE_COUNTER: RouteCounter = () => {};
