using Akka.Actor;

namespace Liminal.Actors.Channels;

/// <summary>Answers the drain requester with one <see cref="Drained"/> once every one of <c>expected</c> parts has drained.</summary>
internal sealed class DrainAggregator : ReceiveActor
{
    public DrainAggregator(IActorRef requester, int expected)
    {
        var remaining = expected;
        Receive<Drained>(_ =>
        {
            if (--remaining > 0)
                return;
            requester.Tell(Drained.Instance);
            Context.Stop(Self);
        });
    }

    public static Props Props(IActorRef requester, int expected) => Akka.Actor.Props.Create(() => new DrainAggregator(requester, expected));
}
