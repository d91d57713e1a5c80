using Akka.Actor;

namespace Liminal.Actors;

/// <summary>The typed answer of a capability this build of the bus does not provide yet.</summary>
public sealed record CapabilityUnavailable(string Capability, string Request);

/// <summary>Stands in for a capability that has not landed: answers every request with <see cref="CapabilityUnavailable"/>.</summary>
internal sealed class UnavailableCapability : ReceiveActor
{
    public UnavailableCapability(string capability)
    {
        ReceiveAny(message => Sender.Tell(new CapabilityUnavailable(capability, message.GetType().Name)));
    }

    public static Props Props(string capability) =>
        Akka.Actor.Props.Create(() => new UnavailableCapability(capability));
}
