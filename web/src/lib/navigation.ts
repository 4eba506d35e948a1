// Client-side navigation: App listens for popstate and renders the route, so
// pages that move elsewhere (welcome -> room, end screen -> welcome) need not
// import App.

export function navigate(path: string): void {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}
