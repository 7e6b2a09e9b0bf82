// One Chromium and one Playwright driver for every page test of this project (they cost about 1.5 s of CPU to start:
// node 0.9 s, Chromium 0.5 s, measured here); pages of different classes run side by side in it, each in its own context.
[assembly: AssemblyFixture(typeof(RamCoin.Tests.Infrastructure.BrowserFixture))]
