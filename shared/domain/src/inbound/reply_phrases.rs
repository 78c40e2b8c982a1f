//! The phrases reply classes are read from (R-9.9; precedence and matching in
//! `reply_class.rs`), in English, German, French, Spanish, Dutch and Portuguese. All are
//! written lower case with accents folded (`é`→`e`, `ß`→`ss`, `ã`→`a`), hyphens and
//! French elisions split (`retirez moi`, `m' interesse`), `,` for a comma; `*` skips up to
//! two words; a trailing `~` matches any ending; `a|b` matches either word (a verb family,
//! "don't|dont"), each with its own `~`.

/// Asks not to be contacted (rule 1). Never negated.
#[rustfmt::skip]
pub(super) const OPT_OUT: &[&str] = &[
    // en
    "unsubscrib~", "remove me", "remove my", "take me off", "take my * off", "opt * out",
    "don't * contact me", "do not * contact me", "dont * contact me", "don't * email me",
    "do not * email me", "don't * write to me", "do not * write to me", "don't * message me",
    "stop * emailing", "stop * contacting", "stop * sending", "stop * messaging",
    "stop * spamming", "stop * writing", "stop * reaching out", "no more email~",
    "no further email~", "no further contact", "no more messages", "delete my data",
    "delete my details", "delete my information", "delete my personal", "delete my email",
    "erase my", "leave me alone", "not to contact me", "not * be contacted", "never contact me",
    "never email me", "off your list", "off your mailing", "from your list",
    "from your mailing", "from your database", "lose my", "not to email me", "cease~",
    "further communication~", "do not consent", "don't consent",
    // en, issue 21 review: verb families after "stop"/"don't", a negated wish to receive
    // mail, "from/off the list"
    "stop * mailing", "stop * bothering",
    "don't|dont|never * mail|bother|spam|text me", "do not * mail|bother|spam|text me",
    "don't|dont|never * send me * email~|mail~|messages|anymore|further|spam",
    "do not * send me * email~|mail~|messages|anymore|further|spam",
    "don't|dont want * receive * email~|mail~|messages|more|anymore|further|these|your|spam",
    "do not want * receive * email~|mail~|messages|more|anymore|further|these|your|spam",
    "don't|dont want * get * email~|mail~|messages|spam", "do not want * get * email~|mail~|messages|spam",
    "don't|dont wish * receive * email~|mail~|messages|more|anymore|further|these|your|spam",
    "do not wish * receive * email~|mail~|messages|more|anymore|further|these|your|spam",
    "no longer want|wish * receive|hear", "no longer want|wish * be contacted|emailed",
    "don't|dont want * hear from you", "do not want * hear from you",
    "rather not hear from you", "rather not be contacted|emailed|mailed",
    "from the mailing", "from this mailing", "off this|the list", "off the mailing",
    // de
    "abmeld~", "austragen", "tragen sie mich * aus", "entfernen sie mich", "entfernen sie meine",
    "nicht mehr * kontaktieren", "nicht mehr * anschreiben", "nicht mehr * schreiben",
    "nicht mehr * kontakt~", "nicht weiter * kontaktieren", "keine weiteren * email~",
    "keine weiteren * nachrichten", "keine weiteren * mails", "keine * mails mehr",
    "keine email~ mehr", "keine * nachrichten mehr", "kontaktieren sie mich * nicht",
    "schreiben sie mich * nicht", "schreiben sie mir * nicht", "loschen sie meine",
    "meine daten * loschen", "loschung meiner", "von ihrer liste", "aus ihrem verteiler",
    "aus ihrer datenbank", "aus ihrer kartei", "unterlassen sie", "nicht erneut * kontaktieren",
    "nicht wieder * kontaktieren", "widerspreche", "nehmen sie mich * aus", "streichen sie mich",
    "auf , mir * zu schreiben", "auf mir * zu schreiben", "auf , mich * zu kontaktieren",
    "auf mich * zu kontaktieren", "aufhoren",
    "abbestell~", "nicht mehr * mailen|anmailen|belastigen|zuschicken|zusenden",
    "nie wieder * kontaktieren|schreiben|anschreiben|mailen",
    "keine * email~|mails|nachrichten|anfragen|angebote|newsletter mehr",
    "keine weiteren * angebote|anfragen|kontaktaufnahme~", "senden|schicken sie mir * nichts mehr",
    "senden|schicken sie mir * keine email~|mails|nachrichten|newsletter",
    "aus dem verteiler", "aus eurem verteiler", "aus ihrer liste",
    // fr
    "desabonn~", "desinscri~", "retirez moi", "retirer * de votre", "retirez * de votre",
    "supprimez * mes donnees", "supprimer * mes donnees", "supprimez mes coordonnees",
    "supprimer mes coordonnees", "effacer mes", "effacez mes", "ne plus me contacter",
    "ne me contactez plus", "ne me contactez pas", "ne plus * contacter", "arretez de m'",
    "arretez de me", "cessez de", "ne plus recevoir", "plus de mails", "plus d' emails",
    "plus de messages", "ne m' ecrivez plus", "ne plus m' ecrire", "retirer mon adresse",
    "oubliez moi", "de votre base", "de votre fichier", "de votre liste", "plus recevoir",
    "supprimer mon adresse", "supprimez mon adresse", "supprimer mon email",
    "supprimez mon email",
    "ne me contact~|ecriv~|envoy~|sollicit~|relanc~|mail~|spamm~|derang~ plus",
    "ne m' ecriv~|envoy~ plus", "n' envoy~ plus",
    "ne plus * solliciter|relancer|envoyer|ecrire|recevoir|spammer",
    "plus etre contact~|sollicit~|relance~", "plus de * mails|emails|messages|courriels|sollicitations|relances",
    "supprimez moi", "enlevez moi", "de vos listes", "de vos fichiers",
    // es
    "darme de baja", "dar de baja", "dame de baja", "denme de baja", "deme de baja",
    "eliminen mis datos", "eliminar mis datos", "borrar mis datos", "borren mis", "eliminen mi",
    "no me contact~", "no vuelv~ a contact~", "no vuelv~ a escrib~", "dej~ de envi~",
    "dej~ de escrib~", "dej~ de contact~", "no me escrib~", "no me envie~", "no me envien",
    "no quiero recibir", "no deseo recibir", "sacarme de", "sacadme de", "quitarme de",
    "quitenme de", "eliminarme de", "eliminenme de", "no mas correos", "no mas emails",
    "no mas mensajes", "de su lista", "de tu lista", "no me mand~", "de su base de datos", "cancelar * suscripcion",
    "dar~ de baja", "dadme de baja", "doy de baja", "solicit~ la baja", "pido la baja", "desuscrib~",
    "anular * suscripcion", "cancelar * subscripcion", "no me moleste|molesten|molestes",
    "quitenme|quiteme|quitadme|sacame|saquenme|borrenme|borreme|borradme|borrarme|eliminadme|elimineme de",
    "de vuestra lista", "de sus listas", "de la lista de correo",
    // nl
    "afmeld~", "uitschrijv~", "schrijf me uit", "schrijf mij uit", "verwijder mij",
    "verwijder me", "verwijder mijn", "verwijderen uit", "verwijderen van", "verwijdert u mij",
    "niet meer * benaderen", "niet meer * contacteren", "niet meer * mailen",
    "niet meer * emailen", "niet meer * contact", "geen * mails meer", "geen email~ meer",
    "geen berichten meer", "stop met mailen", "stop met * benaderen", "stop met * sturen",
    "stoppen met mailen", "mijn gegevens * verwijderen", "uit uw bestand", "uit je bestand",
    "van uw lijst", "van je lijst", "uit uw database", "neem geen contact",
    "neemt u geen contact", "laat me met rust", "laat mij met rust", "van uw mailinglijst",
    "van je mailinglijst", "van jullie mailinglijst", "lijst halen", "lijst verwijderen",
    "mail|mailt|email|emailt|contacteer|contacteert|benader|benadert|stuur|schrijf|schrijft me|mij * niet meer",
    "geen * mails|email~|berichten|nieuwsbrie~|mailtjes meer",
    "niet meer * benaderd|gemaild|gecontacteerd|ontvangen|lastiggevallen", "haal me|mij * van|uit",
    "val me|mij * niet lastig",
    // pt
    "descadastr~", "cancelar * inscricao", "remover * da lista", "remova~ * da", "remova me",
    "retire~ * da lista", "retirem me", "tirem me", "tire me", "nao me contat~",
    "nao me contact~", "nao entr~ em contato", "nao entr~ em contacto", "nao volt~ a contact~",
    "nao volt~ a contat~", "deix~ de enviar", "pare de enviar", "parem de enviar",
    "parem de me", "pare de me", "nao envi~ mais", "nao me envi~", "nao quero receber",
    "nao desejo receber", "apag~ * meus dados", "elimin~ * meus dados", "exclu~ * meus dados",
    "da vossa lista", "da sua lista", "da vossa base", "da sua base", "nao me escrev~",
    "chega de emails", "deix~ de * contact~", "deix~ de * contat~", "deix~ de me * enviar",
    "deix~ de me escrever", "nao autorizo", "nao me mand~",
    "cancelar * subscricao|assinatura", "anular * subscricao|inscricao", "desinscrev~",
    "nao quero|desejo mais receber", "nao quero * ser contact~|contat~",
    "nao desejo * ser contact~|contat~", "removam|remover|remove me", "me remov~ da|de",
    "tira me", "sair da * lista", "nao me incomode|incomodem|incomodes",
    "parar de receber", "deix~ de receber",
];

/// A sentence of only this word is an opt-out ("STOP").
#[rustfmt::skip]
pub(super) const SOLE_STOP: &[&str] = &[
    "stop", "unsubscribe", "remove", "abmelden", "austragen", "stopp", "desabonner",
    "desinscrire", "baja", "afmelden", "uitschrijven", "descadastrar", "parar",
    "abbestellen", "unsub", "optout", "desinscription", "desabonnement", "desuscribir",
    "stoppen", "descadastre",
];

/// Courtesy words a sole stop or yes may carry and still be alone ("pls remove",
/// "Bitte abmelden", "Unsubscribe, thanks", "Sure, thank you").
#[rustfmt::skip]
pub(super) const COURTESY: &[&str] = &[
    "please", "pls", "plz", "kindly", "thanks", "thank", "you", "thx", "now", "asap",
    "bitte", "danke", "merci", "svp", "s'il", "vous", "plait", "por", "favor", "gracias",
    "alstublieft", "aub", "bedankt", "obrigado", "obrigada",
];

/// At the start of an opt-out phrase, these make it something else (rule 1): a job left
/// ("unsubscribe from my current job") or an old address replaced ("remove my old
/// address, use this one").
#[rustfmt::skip]
pub(super) const NOT_OPT_OUT: &[&str] = &[
    "unsubscrib~ from my",
    "remove my old|previous|former|outdated|work|other|second|first",
    "entfernen sie meine alte~|fruhere~|bisherige~", "verwijder mijn oude|vorige",
    "eliminen mi antigu~|anterior",
];

/// Points to someone else on its own (rule 2).
#[rustfmt::skip]
pub(super) const REFERRAL: &[&str] = &[
    "right person", "better person", "correct person", "better suited", "point you to",
    "refer you", "pass this on", "passed this on", "passed your", "forwarded * to",
    "forwarding * to", "i'll forward", "i will forward", "i've forwarded",
    "richtige ansprechpartner~", "richtigen ansprechpartner~", "weitergeleitet", "weiterleiten",
    "la bonne personne", "la personne * adaptee", "mieux place", "transmis * a",
    "mets en copie", "mis en copie",
    "la persona adecuada", "la persona indicada", "la persona correcta", "reenviado a",
    "de juiste persoon", "de aangewezen persoon", "doorgestuurd naar",
    "a pessoa certa", "a pessoa indicada", "a pessoa mais indicada", "encaminhei * para",
    "encaminhado para",
];

/// Someone else (rule 2); an e-mail address counts too unless [`FIRST_PERSON`] is near.
#[rustfmt::skip]
pub(super) const PERSON: &[&str] = &[
    "colleague~", "coworker~", "teammate~", "friend", "friends", "someone", "somebody", "she",
    "he", "him", "her", "she's", "he's", "brother", "sister", "wife", "husband",
    "kolleg~", "freund", "freundin", "freunde", "jemand~", "bekannte~", "bruder", "schwester",
    "collegue~", "ami", "amie", "quelqu'un", "frere", "soeur",
    "companer~", "colega~", "amigo", "amiga", "alguien", "ella", "hermano", "hermana",
    "collega~", "vriend", "vriendin", "iemand", "hij", "broer", "zus",
    "alguem", "ela", "ele", "irmao", "irma",
];

/// A word that points to the person named (rule 2).
#[rustfmt::skip]
pub(super) const POINTER: &[&str] = &[
    "talk~", "speak~", "reach~", "contact~", "forward~", "pass~", "cc", "cc'd", "cc'ing",
    "ccing", "copied", "copying", "introduc~", "recommend~", "suggest~", "better", "might",
    "may", "could", "instead", "looking", "interes~", "fit", "refer~", "connect~", "write",
    "ping", "ask", "handles", "responsible", "charge", "try", "hiring", "hires", "would",
    "perfect~", "ideal~", "ware", "perfekt~", "serait", "parfait~", "seria",
    "zou", "perfeit~", "ideaal",
    "sprech~", "wenden", "kontakt~", "meld~", "weiterge~", "weiterleit~", "kopie",
    "empfehl~", "besser~", "passend~", "such~", "konnte", "vielleicht", "stattdessen",
    "schreib~", "zustandig~", "ansprech~", "verantwortlich",
    "parl~", "adress~", "transf~", "transm~", "copie", "recommand~", "mieux", "cherch~",
    "pourrait", "peut", "plutot", "ecri~",
    "habl~", "escrib~", "reenvi~", "copia", "recomiend~", "recomend~", "mejor", "busc~",
    "podria", "quizas", "quiza", "lugar", "encarg~", "dirig~",
    "benader~", "doorgestuurd", "doorsturen", "doorgeven", "aanrad~", "beter", "zoek~",
    "misschien", "plaats", "wend~", "spreken", "bellen", "verantwoordelijk",
    "fal~", "contat~", "escrev~", "encaminh~", "melhor", "procur~", "poderia", "talvez",
    "responsavel",
];

/// Near an e-mail address, makes it the writer's own ("my private address is …").
#[rustfmt::skip]
pub(super) const FIRST_PERSON: &[&str] = &[
    "me", "my", "i", "mich", "mein", "meine", "meiner", "meinen", "mir", "ich", "privat~",
    "moi", "mon", "ma", "mes", "m'", "je", "mi", "mis", "yo", "mij", "mijn", "ik", "meu",
    "minha", "eu", "personal", "private", "privee", "personnelle", "persoonlijke", "pessoal",
];

/// Shows interest (rule 4) unless negated (rule 3).
#[rustfmt::skip]
pub(super) const INTERESTED: &[&str] = &[
    // every language: interested, interessiert, intéressé, interesado, interessado, …
    "interes~", "geinteresseerd",
    // en
    "keen", "sounds good", "sounds great", "sounds exciting", "let's talk", "lets talk",
    "let's chat", "let's schedule", "let's set up", "happy to chat", "happy to talk",
    "happy to hop", "happy to jump", "love to hear", "love to learn", "like to hear",
    "like to learn", "tell me more", "more details", "more information", "more info",
    "set up a call", "schedule a call", "book a call", "a quick call", "available for a call",
    "available for a chat", "when can we", "open to a conversation", "open to a chat",
    "open to hearing", "open to learning", "send me the job description", "count me in",
    "yes please", "absolutely", "i'm in", "why not", "set up a meeting", "a meeting",
    "glad to discuss", "glad to talk", "glad to chat", "happy to discuss", "my cv",
    "my resume", "send me a time", "send me some times", "up for a", "up for it",
    "love to chat", "love to talk", "when are you free", "when are you available",
    "call me", "give me a call",
    // de
    "gerne", "gern", "klingt gut", "klingt spannend", "spannend", "lass uns", "lassen sie uns",
    "telefonieren", "ein telefonat", "ein gesprach", "ein kurzes gesprach", "termin",
    "mehr erfahren", "mehr informationen", "mehr details", "offen fur", "wann passt",
    "wann haben sie zeit", "rufen sie mich an", "stellenbeschreibung", "klingt * gut",
    "hort sich * gut", "ein treffen", "meinen lebenslauf", "mein lebenslauf", "passt gut",
    "zeit fur ein~", "einen call",
    // fr
    "volontiers", "avec plaisir", "d' accord", "ca me plait", "en savoir plus",
    "plus d' informations", "plus de details", "discuter", "echanger", "un appel",
    "un rendez vous", "un entretien", "disponible pour", "pourquoi pas", "partant",
    "partante", "appelez moi", "quand pouvons nous", "mon cv",
    // es
    "me gustaria", "encantado", "encantada", "con gusto", "mas informacion", "mas detalles",
    "hablemos", "una llamada", "disponible para", "cuando podemos", "por que no", "adelante",
    "cuenta conmigo", "agendar", "conversar", "una reunion", "podemos quedar", "mi cv",
    "te viene bien", "le viene bien", "una videollamada",
    // nl
    "graag", "klinkt goed", "klinkt leuk", "leuk", "laten we", "bellen", "kennismak~",
    "meer informatie", "meer weten", "meer details", "een gesprek", "beschikbaar voor",
    "wanneer kunnen we", "waarom niet", "sta open", "een afspraak", "afspraak maken", "mijn cv",
    "lijkt me * wat", "uitnodiging",
    // pt
    "gostaria", "adoraria", "com certeza", "claro", "mais informacoes", "mais detalhes",
    "uma chamada", "uma ligacao", "uma conversa", "disponivel para", "podemos falar",
    "vamos falar", "vamos conversar", "tenho disponibilidade", "por que nao", "podemos marcar",
    "marcar uma", "uma reuniao", "meu cv", "meu curriculo",
];

/// A sentence of only this word shows interest ("Sure.", "Gerne!", "Oui.").
#[rustfmt::skip]
pub(super) const SOLE_YES: &[&str] = &[
    "yes", "sure", "definitely", "absolutely", "ja", "gerne", "gern", "oui", "volontiers",
    "si", "claro", "graag", "sim",
];

/// Says no (rule 3).
#[rustfmt::skip]
pub(super) const NOT_INTERESTED: &[&str] = &[
    // en
    "not looking", "not currently looking", "not actively looking", "no thanks",
    "no , thanks", "no thank you", "no , thank you", "not for me", "not a fit",
    "not a good fit", "not the right fit", "not the right time", "not right now",
    "not at the moment", "not at this time", "not now", "not for now", "i'll pass",
    "i will pass", "pass on this", "pass this time", "happy where i am", "happy in my current",
    "happy with my current", "not considering", "not open", "declin~", "not planning",
    "staying put", "no longer looking", "not making a move", "not ready", "not a match",
    "not a priority", "not on the market", "not in the market", "not pursuing",
    "good where i am", "fine where i am", "rather stay", "not thinking about", "sit this one out",
    "accepted an offer", "accepted another", "accepted a position", "accepted a role",
    "not thinking of",
    // de
    "nicht auf der suche", "nicht auf jobsuche", "nicht wechselwillig", "keine wechselabsicht~",
    "nein danke", "nein , danke", "kein bedarf", "bin zufrieden", "sehr zufrieden",
    "zufrieden mit meiner", "nicht wechseln", "keinen wechsel", "passt nicht",
    "passt leider nicht", "derzeit nicht", "aktuell nicht", "momentan nicht", "zurzeit nicht",
    "kein thema", "absage", "absagen", "nicht in frage", "nicht offen", "fuhle mich * wohl",
    "habe nicht vor", "gut aufgehoben", "bleibe lieber",
    "angebot angenommen", "stelle angenommen",
    // fr
    "pas a la recherche", "pas en recherche", "non merci", "non , merci", "pas pour moi",
    "pas le moment", "pas le bon moment", "satisfait de mon", "satisfaite de mon",
    "heureux dans mon", "heureuse dans mon", "ne souhaite pas changer", "pas ouvert",
    "pas ouverte", "ne cherche pas", "pas de changement", "je passe mon tour",
    "pas d' actualite", "bien dans mon", "bien ou je suis", "ne compte pas", "pas bouger",
    "prefere rester", "je reste dans", "je reste chez", "etre promu", "accepte une autre",
    "accepte une offre", "accepte un autre",
    // es
    "no estoy buscando", "no busco", "no gracias", "no , gracias", "no es para mi",
    "no es el momento", "no es buen momento", "contento con mi", "contenta con mi",
    "feliz en mi", "feliz con mi", "no estoy abierto", "no estoy abierta", "no me planteo",
    "no tengo intencion", "paso esta vez", "no por ahora", "de momento no", "por ahora no",
    "no me encaja", "bien donde estoy", "no pienso",
    "no estoy pensando", "prefiero quedarme", "acepte otra", "aceptado otra",
    "me quedo donde",
    // nl
    "niet op zoek", "nee bedankt", "nee , bedankt", "nee dank je", "nee , dank je",
    "nee dank u", "niet voor mij", "tevreden met", "tevreden bij", "tevreden in",
    "niet het juiste moment", "geen behoefte", "ik pas", "niet open", "op dit moment niet",
    "momenteel niet", "geen overstap", "zit goed", "niet van plan",
    "blijf liever", "aanbod aangenomen", "baan aangenomen",
    // pt
    "nao estou a procura", "nao estou procurando", "nao estou buscando", "nao , obrigado",
    "nao obrigado", "nao , obrigada", "nao obrigada", "nao e para mim", "nao e o momento",
    "nao e o melhor momento", "satisfeito com", "satisfeita com", "feliz com", "feliz no meu",
    "nao estou aberto", "nao estou aberta", "nao pretendo", "por agora nao", "de momento nao",
    "no momento nao", "bem onde estou", "nao penso",
    "nao estou pensando", "prefiro ficar", "aceitar outra", "aceitei outra",
    "ficar por aqui", "ficar onde estou",
];

/// Changing jobs: counts only when negated ("not looking to move", "nicht wechseln", "no
/// pienso cambiar"), and then as `not_interested` (rule 3); not negated it says nothing.
#[rustfmt::skip]
pub(super) const CHANGE: &[&str] = &[
    "move", "moving", "switch~", "change", "changing", "leave", "leaving",
    "wechsel~", "veranderung~", "changer", "bouger", "quitter", "cambiar", "moverme",
    "overstap~", "overstappen", "wisselen", "mudar", "sair",
];

/// Negation words before an interest phrase (rule 3).
#[rustfmt::skip]
pub(super) const NEGATORS: &[&str] = &[
    "not", "no", "don't", "dont", "never", "nor", "isn't", "aren't", "doesn't", "wouldn't",
    "won't", "cannot", "can't", "hardly", "without",
    "nicht", "kein", "keine", "keinen", "keiner", "keinerlei", "nie", "niemals", "ohne",
    "pas", "ne", "n'", "jamais", "aucun", "aucune", "sans",
    "nunca", "ningun", "ninguna", "ni", "tampoco", "sin",
    "niet", "geen", "nooit", "zonder",
    "nao", "sem", "nenhum", "nenhuma", "nem",
];

/// Negation words right after an interest phrase ("Das interessiert mich nicht").
pub(super) const NEGATORS_AFTER: &[&str] = &["nicht", "niet", "pas", "nao", "kein", "geen"];

/// Words a negation reaches across ("not really interested", "nicht wirklich").
#[rustfmt::skip]
pub(super) const NEUTRAL: &[&str] = &[
    "am", "i'm", "im", "is", "are", "be", "been", "really", "very", "that", "so", "too",
    "particularly", "currently", "at", "all", "longer", "anymore", "actually", "much",
    "overly", "terribly", "i", "we", "remotely", "any", "more", "quite", "entirely",
    "genuinely", "personally", "looking", "to", "planning", "thinking", "about", "of", "want",
    "considering",
    "bin", "sind", "ist", "sehr", "wirklich", "mehr", "daran", "an", "der", "dem", "stelle",
    "besonders", "aktuell", "derzeit", "momentan", "leider", "zur", "zeit", "habe", "hab",
    "ich", "wir", "gar", "zurzeit", "daruber", "weiter", "mich", "mir", "im", "moment",
    "sonderlich", "allzu", "eher", "dafur", "also", "vor", "zu", "will", "mochte",
    "suis", "est", "sommes", "vraiment", "tres", "plus", "m'", "me", "d'", "de", "ai",
    "actuellement", "ca", "cela", "y", "en", "du", "tout", "je", "nous", "pour", "l'", "le",
    "particulierement", "si", "trop", "specialement", "compte", "souhaite", "veux",
    "estoy", "muy", "realmente", "por", "el", "ahora", "tengo", "esta", "nada", "lo",
    "le", "mucho", "yo", "estamos", "tan", "demasiado", "especialmente", "este", "les", "nos",
    "pensando", "pienso", "quiero",
    "ben", "heb", "erg", "echt", "meer", "momenteel", "er", "op", "dit", "ik", "zijn",
    "zo", "bijzonder", "helemaal", "daar", "mij", "nog", "van", "plan", "te", "wil",
    "estou", "tenho", "muito", "mais", "no", "sou", "ando", "eu", "tao", "neste", "agora",
    "lhe", "isso", "assim", "atualmente", "particularmente", "penso", "em", "quero",
];

/// French elisions, split off the word they precede (`m'intéresse` → `m'` `interesse`).
pub(super) const ELISIONS: &[&str] = &["m'", "n'", "l'", "d'", "j'", "qu'", "s'", "t'", "c'"];

/// Right before an opt-out phrase, these make it the opposite of a stop request ("please
/// don't remove me"); phrases that start with a negation are written whole in
/// [`OPT_OUT`] and are not affected.
pub(super) const REFUSALS: &[&str] = &["don't", "dont", "not", "never", "nao"];
