using System.Runtime.CompilerServices;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Tests.TestSupport;

internal static class ThreadPoolReservation
{
    [ModuleInitializer]
    internal static void Reserve() => SqlJournalConfig.ReserveThreadsForBlockingIo();
}
