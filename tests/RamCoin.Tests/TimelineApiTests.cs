namespace RamCoin.Tests;

/// <summary>The timeline's endpoints on a real web UI: a knob changed through it is an event in both exports and the history.</summary>
public sealed class TimelineApiTests
{
    [Fact]
    public async Task AKnobChangedThroughTheWebUIIsInTheTimelineWithItsValueBeforeAndTheHistoryServesIt()
    {
        await using var store = await StoreServer.StartGarnetAsync();
        await using var rng = await RunningService.StartAsync(ServiceNames.Rng, AdminKnobs.Enabled, Profile.Fast);
        await using var webui = await RunningService.StartAsync(ServiceNames.WebUI, peers: store.Peers(rng.Address));

        // As the page does: read the knobs, then change one.
        using (var knobs = await webui.Client.GetAsync("/knobs", Ct))
        {
            Assert.Equal(HttpStatusCode.OK, knobs.StatusCode);
        }

        using var put = AdminKnobs.Put("{\"RNG_DELAY_MS\": \"250\"}", path: "/knobs/rng");
        using (var changed = await webui.Client.SendAsync(put, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        JsonElement knob = default;
        await Eventually.TrueAsync(
            async () =>
            {
                var timeline = JsonDocument.Parse(await webui.Client.GetStringAsync("/timeline.json", Ct)).RootElement;
                knob = timeline.GetProperty("events").EnumerateArray().FirstOrDefault(e => e.GetProperty("kind").GetString() == "knob");
                return knob.ValueKind == JsonValueKind.Object;
            },
            "the timeline has the knob change");

        Assert.Equal("rng RNG_DELAY_MS: 0 → 250 (knob controls)", knob.GetProperty("text").GetString());
        Assert.Equal("rng", knob.GetProperty("service").GetString());
        var history = JsonDocument.Parse(await webui.Client.GetStringAsync("/history.json", Ct)).RootElement;
        Assert.Contains(history.GetProperty("events").EnumerateArray(), e => e.GetProperty("text").GetString() == knob.GetProperty("text").GetString());
        Assert.Contains("knob: rng RNG_DELAY_MS: 0 → 250 (knob controls)", await webui.Client.GetStringAsync("/timeline.csv", Ct), StringComparison.Ordinal);
    }
}
