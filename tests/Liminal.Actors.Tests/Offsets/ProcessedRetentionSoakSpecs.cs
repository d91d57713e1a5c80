using Liminal.Actors.Offsets;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Offsets;

/// <summary>
/// The bounded soak of issue 13 for <c>RecordProcessed</c>: a pipeline records 20,000 event ids while the clock moves
/// on, and the ids it holds (in its snapshots, after a restart) stay at what <c>liminal.offsets.retention</c> covers.
/// </summary>
public sealed class ProcessedRetentionSoakSpecs(ITestOutputHelper output) : LiminalTestKit
{
    private const int Rounds = 40;
    private const int EventsPerRound = 500;
    private const int RoundsPerRetention = 4;
    private const int Bound = RoundsPerRetention * EventsPerRound;
    private static readonly TimeSpan Retention = TimeSpan.FromDays(7);

    private static string Id(int round, int i) => $"evt-{round:D3}-{i:D3}";

    [Fact]
    public void A_pipeline_recording_20000_event_ids_holds_no_more_of_them_than_its_retention_covers()
    {
        var settings = DefaultSettings with { OffsetsRetention = Retention, SnapshotEvery = 1_000 };
        var offsets = LiminalBus.Start(Sys, settings).Offsets;
        long lastSnapshotChecked = 0;
        var snapshotsChecked = 0;
        for (var round = 0; round < Rounds; round++)
        {
            if (round > 0)
                Clock.Advance(Retention / RoundsPerRetention);
            for (var i = 0; i < EventsPerRound; i++)
                offsets.Tell(new RecordProcessed("ingest", Id(round, i)), TestActor);
            Assert.Equal(EventsPerRound, ReceiveN(EventsPerRound, TimeSpan.FromSeconds(60)).OfType<ProcessedRecorded>().Count());

            // A snapshot costs the whole state, so one is taken at most every as many events as the state holds ids:
            // each one read must hold no more than the retention covers.
            if (SnapshotReading.Latest<OffsetsSnapshot>(Sys, DatabasePath, "offsets-ingest") is var (sequenceNr, snapshot)
                && sequenceNr > lastSnapshotChecked)
            {
                Assert.InRange(snapshot.Processed.Length, 1, Bound);
                (lastSnapshotChecked, snapshotsChecked) = (sequenceNr, snapshotsChecked + 1);
            }
            if (round % 10 == 9)
                output.WriteLine($"after {(round + 1) * EventsPerRound:N0} event ids: latest snapshot (at {lastSnapshotChecked:N0}) holds " +
                                 $"{SnapshotReading.Latest<OffsetsSnapshot>(Sys, DatabasePath, "offsets-ingest")?.Snapshot.Processed.Length:N0}; " +
                                 $"managed heap {GC.GetTotalMemory(forceFullCollection: true) / (1024.0 * 1024.0):F1} MiB");
        }
        Assert.True(snapshotsChecked >= 5, $"only {snapshotsChecked} snapshots were checked");
        // The ids of the last 4 rounds are processed; the round before them is past the retention.
        var oldestKept = Rounds - RoundsPerRetention;
        Assert.True(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", Id(oldestKept, 0))).Processed);
        Assert.False(Ask<ProcessedStatus>(offsets, new WasProcessed("ingest", Id(oldestKept - 1, EventsPerRound - 1))).Processed);
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, settings).Offsets;
            var probe = CreateTestProbe(restarted);
            Assert.True(Ask<ProcessedStatus>(recovered, new WasProcessed("ingest", Id(oldestKept, 0)), probe).Processed);
            Assert.True(Ask<ProcessedStatus>(recovered, new WasProcessed("ingest", Id(Rounds - 1, EventsPerRound - 1)), probe).Processed);
            Assert.False(Ask<ProcessedStatus>(recovered, new WasProcessed("ingest", Id(oldestKept - 1, EventsPerRound - 1)), probe).Processed);
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
