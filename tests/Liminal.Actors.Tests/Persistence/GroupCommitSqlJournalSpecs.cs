using Liminal.Actors.Conversations;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Persistence;

/// <summary>Writes of many actors share database transactions, and each actor still recovers exactly its own log.</summary>
public sealed class GroupCommitSqlJournalSpecs : LiminalTestKit
{
    [Fact]
    public void Concurrent_writers_in_shared_transactions_each_recover_their_own_events_in_order()
    {
        var conversations = LiminalBus.Start(Sys, DefaultSettings).Conversations;
        var ids = Enumerable.Range(0, 200).Select(i => $"c{i}").ToList();
        // All requests in flight at once, so many conversations' writes queue behind each other.
        foreach (var id in ids)
        {
            conversations.Tell(new ReceiveMessage(id, "m"), TestActor);
            for (var step = 0; step < 4; step++)
                conversations.Tell(new RecordStepCompleted(id, "m", step, [(byte)step]), TestActor);
        }
        // Each message's records wait for the one before (they depend on it): five journal round trips in all.
        ExpectMsgAllOf(TimeSpan.FromSeconds(60), ids.SelectMany(id => new object[]
        {
            new RedeliveryDecision.Start(), new EventRecorded(id, 2), new EventRecorded(id, 3), new EventRecorded(id, 4), new EventRecorded(id, 5),
        }).ToArray());
        Assert.Equal(1000, JournalRows("conversation-"));
        Shutdown(Sys);

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, DefaultSettings).Conversations;
            var probe = CreateTestProbe(restarted);
            foreach (var id in ids)
            {
                var state = Ask<ConversationSnapshot>(recovered, new GetConversationState(id), probe);
                Assert.Equal(5, state.LastSequenceNr);
                Assert.Equal(Enumerable.Range(0, 4).Select(s => new CompletedStep("m", s, [(byte)s])), state.CompletedSteps);
            }
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
