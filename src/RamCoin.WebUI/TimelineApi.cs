namespace RamCoin.WebUI;

/// <summary>The timeline's exports: the events with the rate series, as JSON and as CSV (for a spreadsheet or a lab report).</summary>
public static class TimelineApi
{
    public static void MapTimeline(this RouteGroupBuilder group)
    {
        group.MapGet("/timeline.json", (TimelineRecorder timeline) => TypedResults.Ok(timeline.Snapshot()))
            .WithName("GetTimeline").WithSummary("What happened (instances, versions, knobs, store outages, rate drops) and the last hour's hashes and rate")
            .Produces<Timeline>();
        group.MapGet("/timeline.csv", (TimelineRecorder timeline) =>
            TypedResults.Text(TimelineRecorder.Csv(timeline.Snapshot()), "text/csv", System.Text.Encoding.UTF8))
            .WithName("GetTimelineCsv").WithSummary("The timeline as CSV: one row a second (time, hashes, rate) with that second's events")
            .Produces(StatusCodes.Status200OK, contentType: "text/csv");
    }
}
