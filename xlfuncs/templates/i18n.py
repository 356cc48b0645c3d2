"""The words of the generated workbooks, in English and Spanish.

Only what a reader sees is translated: sheet names, labels, help texts, verdicts. Function
names (``CLV``, ``HEALTH_STATUS``...) and the defined names of the inputs stay the same in
every edition, so a formula reads the same in both and a macro can target either. The
labels ``HEALTH_STATUS`` and ``SEGMENT`` return ("red", "VIP"...) are the functions' own
and stay English in every language; the Health sheet shows them through the ``label.*``
words of its language (the template maps them, the functions keep their contract).
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES = ("en", "es")

_EN: dict[str, str] = {
    # Sheet names (Excel: at most 31 characters, no []:*?/\)
    "sheet.inputs": "Inputs",
    "sheet.scenarios": "Scenarios",
    "sheet.charts": "Chart data",
    "sheet.sensitivity": "Sensitivity",
    "sheet.checklist": "Onboarding checklist",
    "sheet.health": "Health",
    # Page furniture
    "page": "Page &P of &N",
    "doc.title": "Onboarding ROI",
    "doc.subject": "What an onboarding team is worth, per customer",
    "edition.udf": "Needs the xlfuncs add-in (CLV, PAYBACK, ... are xlfuncs functions).",
    "edition.native": ("Native edition: built-in formulas only, needs no add-in (Excel, LibreOffice, Google Sheets)."),
    # Inputs
    "inputs.title": "Onboarding ROI: inputs",
    "inputs.subtitle": "Yellow cells are inputs: type your own numbers. Every other cell is calculated and locked.",
    "inputs.h.input": "Input",
    "inputs.h.value": "Value",
    "inputs.h.unit": "Unit",
    "inputs.h.name": "Name in formulas",
    "inputs.h.help": "What it means",
    "inputs.g.customer": "Customer and price",
    "inputs.g.without": "Without onboarding",
    "inputs.g.with": "With onboarding",
    "inputs.g.costs": "Costs and margin",
    "inputs.g.finance": "Finance",
    "in.license_price": "License price per month",
    "in.license_price.help": "What the customer pays for one license each month.",
    "in.licenses_at_start": "Licenses at start",
    "in.licenses_at_start.help": "Licenses a new customer buys on day one.",
    "in.extra_licenses": "Extra licenses sold with onboarding",
    "in.extra_licenses.help": "Licenses an onboarded customer adds, at no new acquisition cost.",
    "in.acquisition_cost": "Acquisition cost (CAC)",
    "in.acquisition_cost.help": "Sales and marketing cost of winning one customer.",
    "in.gross_margin": "Gross margin",
    "in.gross_margin.help": "Share of license revenue left after the cost of serving it.",
    "in.churn_without": "Monthly churn without onboarding",
    "in.churn_without.help": "Customers lost each month with poor onboarding; sets how long one stays.",
    "in.churn_with": "Monthly churn with onboarding",
    "in.churn_with.help": "Customers lost each month after good onboarding; sets how long one stays.",
    "in.discount_rate": "Discount rate (per year)",
    "in.discount_rate.help": "Cost of capital: money later is worth less than money now.",
    "in.onboarding_cost": "Onboarding cost per customer",
    "in.onboarding_cost.help": "What the onboarding team spends to get one customer to value.",
    "in.horizon_months": "Horizon (months)",
    "in.horizon_months.help": "Life over which value is counted. Steve Blank: 3 to 5 years (36 to 60).",
    "in.discount_monthly": "Discount rate per month (calculated)",
    "in.discount_monthly.help": "(1 + yearly rate) ^ (1/12) - 1: the rate the monthly formulas use.",
    "unit.money_month": "{cur} / month",
    "unit.money": "{cur}",
    "unit.licenses": "licenses",
    "unit.months": "months",
    "unit.per_month": "per month",
    "unit.per_year": "per year",
    "unit.share": "of revenue",
    "valid.title": "Value not allowed",
    "valid.range": "Allowed: {range}.",
    "range.between": "from {low} to {high}",
    "range.above_upto": "above {low} and at most {high}",
    "range.above": "above {low}",
    "range.atleast": "{low} or more",
    # Scenarios
    "sc.title": "Onboarding ROI: one customer without and with onboarding",
    "sc.subtitle": (
        "Per customer, from the Inputs sheet, over a {horizon}-month horizon: churn sets how long a customer stays,"
        " and every figure below follows from it. CLV, LTV:CAC, payback and ROI are xlfuncs functions."
    ),
    "sc.subtitle.native": (
        "Per customer, from the Inputs sheet, over a {horizon}-month horizon: churn sets how long a customer stays,"
        " and every figure below follows from it. Built-in formulas only: needs no add-in."
    ),
    "sc.h.metric": "Per customer",
    "sc.h.without": "Without onboarding",
    "sc.h.with": "With onboarding",
    "sc.h.diff": "Difference",
    "sc.h.how": "How it is computed",
    "sc.licenses": "Licenses",
    "sc.licenses.how": "Licenses at start, plus the extra licenses with onboarding.",
    "sc.arpu": "Monthly revenue (ARPU)",
    "sc.arpu.how": "License price x licenses.",
    "sc.months": "Months the customer stays (of {horizon})",
    "sc.months.how": (
        "Expected months paid within the horizon: (1 - (1 - churn) ^ {horizon}) / churn; all {horizon} with no churn."
    ),
    "sc.revenue": "Revenue over the stay (undiscounted)",
    "sc.revenue.how": "Monthly revenue x months stayed.",
    "sc.gross_profit": "Gross profit over the stay (undiscounted)",
    "sc.gross_profit.how": "Revenue x gross margin.",
    "sc.upfront": "Upfront cost (CAC + onboarding)",
    "sc.upfront.how": "Acquisition cost; with onboarding, plus the onboarding cost.",
    "sc.profit": "Profit after upfront cost",
    "sc.profit.how": (
        "CLV - upfront cost: where the cumulative profit curve ends (month {horizon}). Negative: never paid back."
    ),
    "sc.churn": "Monthly churn",
    "sc.churn.how": "From the Inputs sheet: the share of customers lost each month.",
    "sc.clv": "Lifetime value (CLV, discounted)",
    "sc.clv.how": "Gross profit over the stay, discounted: CLV(monthly revenue, churn, margin, discount, {horizon}).",
    "sc.ltv_cac": "LTV : CAC",
    "sc.ltv_cac.how": "LTV_CAC(CLV, upfront cost). Onboarding counted as acquisition cost: the strict view.",
    "sc.rule": "3:1 rule (LTV at least 3 x CAC)",
    "sc.rule.how": "Steve Blank: a healthy business earns 3 times what it pays to win a customer.",
    "sc.payback": "Payback (months)",
    "sc.payback.how": "PAYBACK(upfront cost, monthly revenue, margin, churn, discount).",
    "sc.roi": "Onboarding ROI",
    "sc.roi.how": "ONBOARDING_ROI(CLV with, CLV without, onboarding cost): return per unit spent.",
    "pass": "PASS",
    "fail": "FAIL",
    "never": "never",
    "na": "-",
    # Charts
    "ch.title": "Onboarding ROI: chart data",
    "ch.subtitle": "Cumulative discounted profit per customer (CLV to date - upfront cost): it crosses 0 at payback.",
    "ch.section": "Charts",
    "ch.profit.title": "Cumulative profit per customer",
    "ch.profit.x": "Month",
    "ch.profit.y": "Cumulative profit ({cur})",
    "ch.ltv.title": "Lifetime value vs upfront cost",
    "ch.ltv.y": "{cur} per customer",
    "ch.month": "Month",
    "ch.without": "Without onboarding",
    "ch.with": "With onboarding",
    "ch.clv": "Lifetime value (CLV)",
    "ch.cac": "Upfront cost (CAC + onboarding, if any)",
    "ch.note": "Months 0 to {horizon}, the horizon; with a shorter horizon the later months show #N/A (not charted).",
    "ch.where": 'The charts read the hidden sheet "{sheet}" (right-click a sheet tab > Unhide to see it).',
    # Sensitivity
    "se.title": "Onboarding ROI: sensitivity",
    "se.subtitle": (
        "With onboarding, over the {horizon}-month horizon. Change the yellow churn rates and license counts;"
        " other inputs come from the Inputs sheet."
    ),
    "se.clv": "Lifetime value (CLV, discounted)",
    "se.ltv_cac": "LTV : CAC (upfront cost = CAC + onboarding; 3 or more passes)",
    "se.corner": "Monthly churn / extra licenses",
    "se.note": "Framed: the scenario on the Inputs sheet (churn with onboarding, extra licenses).",
    # Checklist
    "ck.title": "Onboarding checklist",
    "ck.subtitle": "Six steps from signature to the promised benefit. Type the date each step is done.",
    "ck.customer": "Customer",
    "ck.start": "Onboarding start date",
    "ck.target": "Time to first value target (days)",
    "ck.h.n": "#",
    "ck.h.step": "Step",
    "ck.h.done_means": "Done when",
    "ck.h.owner": "Owner",
    "ck.h.target": "Target day",
    "ck.h.done": "Done on",
    "ck.h.days": "Days from start",
    "ck.h.status": "Status",
    "ck.s1": "Get everything from the customer",
    "ck.s1.means": "Goals, data, contacts and access are in hand.",
    "ck.s1.owner": "Sales",
    "ck.s2": "Start only when you have it",
    "ck.s2.means": "Kick-off held with nothing missing.",
    "ck.s2.owner": "Onboarding lead",
    "ck.s3": "Give the customer what they need to start",
    "ck.s3.means": "Accounts, set-up and training delivered.",
    "ck.s3.owner": "Onboarding specialist",
    "ck.s4": "Adoption: used once",
    "ck.s4.means": "First real use of the product (time to first use).",
    "ck.s4.owner": "Customer success",
    "ck.s5": "Engagement: regular use",
    "ck.s5.means": "Used every week; time between uses is short.",
    "ck.s5.owner": "Customer success",
    "ck.s6": "Success: the promised benefit",
    "ck.s6.means": "The customer confirms the benefit it bought (first value).",
    "ck.s6.owner": "Account manager",
    "ck.on_time": "on time",
    "ck.late": "late",
    "ck.open": "open",
    "ck.ttfv": "Time to first value (days)",
    "ck.ttfv.how": "TTFV(start date, date of the success step).",
    "ck.verdict": "Against the target",
    "ck.within": "within target",
    "ck.over": "over target",
    "ck.not_yet": "not reached yet",
    # Health
    "he.title": "Customer health",
    "he.subtitle": "Signals scored 0 to 100 per account, weighted into one score. Yellow cells are inputs.",
    "he.red_below": "Red below score",
    "he.green_from": "Green from score",
    "he.vip": "VIP from MRR",
    "he.core": "Core from MRR",
    "he.h.account": "Account",
    "he.h.mrr": "MRR",
    "he.h.potential": "Potential MRR",
    "he.sig1": "Usage",
    "he.sig2": "Adoption",
    "he.sig3": "Support",
    "he.sig4": "NPS",
    "he.sig5": "Payments",
    "he.h.score": "Health score",
    "he.h.status": "Status",
    "he.h.segment": "Segment",
    "he.weights": "Signal weight",
    # The labels HEALTH_STATUS and SEGMENT return, as the reader sees them
    "label.red": "red",
    "label.yellow": "yellow",
    "label.green": "green",
    "label.VIP": "VIP",
    "label.potential": "potential",
    "label.core": "core",
    "label.non-core": "non-core",
}

_ES: dict[str, str] = {
    "sheet.inputs": "Supuestos",
    "sheet.scenarios": "Escenarios",
    "sheet.charts": "Datos de gráficos",
    "sheet.sensitivity": "Sensibilidad",
    "sheet.checklist": "Lista de onboarding",
    "sheet.health": "Salud",
    "page": "Página &P de &N",
    "doc.title": "ROI del onboarding",
    "doc.subject": "Lo que vale un equipo de onboarding, por cliente",
    "edition.udf": "Necesita el complemento xlfuncs (CLV, PAYBACK, ... son funciones de xlfuncs).",
    "edition.native": (
        "Edición nativa: solo fórmulas integradas, no necesita ningún complemento (Excel, LibreOffice, Google Sheets)."
    ),
    "inputs.title": "ROI del onboarding: supuestos",
    "inputs.subtitle": (
        "Las celdas amarillas son supuestos: escriba sus cifras. Las demás se calculan y están bloqueadas."
    ),
    "inputs.h.input": "Supuesto",
    "inputs.h.value": "Valor",
    "inputs.h.unit": "Unidad",
    "inputs.h.name": "Nombre en fórmulas",
    "inputs.h.help": "Qué significa",
    "inputs.g.customer": "Cliente y precio",
    "inputs.g.without": "Sin onboarding",
    "inputs.g.with": "Con onboarding",
    "inputs.g.costs": "Costes y margen",
    "inputs.g.finance": "Finanzas",
    "in.license_price": "Precio de la licencia al mes",
    "in.license_price.help": "Lo que el cliente paga cada mes por una licencia.",
    "in.licenses_at_start": "Licencias iniciales",
    "in.licenses_at_start.help": "Licencias que compra un cliente nuevo el primer día.",
    "in.extra_licenses": "Licencias adicionales vendidas con onboarding",
    "in.extra_licenses.help": "Licencias que añade un cliente bien incorporado, sin nuevo coste de adquisición.",
    "in.acquisition_cost": "Coste de adquisición (CAC)",
    "in.acquisition_cost.help": "Coste de ventas y marketing para ganar un cliente.",
    "in.gross_margin": "Margen bruto",
    "in.gross_margin.help": "Parte del ingreso por licencias que queda tras el coste de servirlo.",
    "in.churn_without": "Tasa de abandono mensual sin onboarding",
    "in.churn_without.help": "Clientes que se van cada mes con un mal onboarding; fija la permanencia.",
    "in.churn_with": "Tasa de abandono mensual con onboarding",
    "in.churn_with.help": "Clientes que se van cada mes tras un buen onboarding; fija la permanencia.",
    "in.discount_rate": "Tasa de descuento (anual)",
    "in.discount_rate.help": "Coste del capital: el dinero futuro vale menos que el de hoy.",
    "in.onboarding_cost": "Coste de onboarding por cliente",
    "in.onboarding_cost.help": "Lo que gasta el equipo de onboarding en llevar un cliente al valor.",
    "in.horizon_months": "Horizonte (meses)",
    "in.horizon_months.help": "Vida sobre la que se cuenta el valor. Steve Blank: de 3 a 5 años (36 a 60).",
    "in.discount_monthly": "Tasa de descuento mensual (calculada)",
    "in.discount_monthly.help": "(1 + tasa anual) ^ (1/12) - 1: la tasa que usan las fórmulas mensuales.",
    "unit.money_month": "{cur} / mes",
    "unit.money": "{cur}",
    "unit.licenses": "licencias",
    "unit.months": "meses",
    "unit.per_month": "al mes",
    "unit.per_year": "al año",
    "unit.share": "del ingreso",
    "valid.title": "Valor no permitido",
    "valid.range": "Permitido: {range}.",
    "range.between": "de {low} a {high}",
    "range.above_upto": "mayor que {low} y como mucho {high}",
    "range.above": "mayor que {low}",
    "range.atleast": "{low} o más",
    "sc.title": "ROI del onboarding: un cliente sin y con onboarding",
    "sc.subtitle": (
        "Por cliente, a partir de la hoja Supuestos, en un horizonte de {horizon} meses: la tasa de abandono fija"
        " cuánto se queda un cliente y todo lo demás se deriva de ella. CLV, LTV:CAC, PAYBACK y ROI son funciones"
        " de xlfuncs."
    ),
    "sc.subtitle.native": (
        "Por cliente, a partir de la hoja Supuestos, en un horizonte de {horizon} meses: la tasa de abandono fija"
        " cuánto se queda un cliente y todo lo demás se deriva de ella. Solo fórmulas integradas: no necesita"
        " ningún complemento."
    ),
    "sc.h.metric": "Por cliente",
    "sc.h.without": "Sin onboarding",
    "sc.h.with": "Con onboarding",
    "sc.h.diff": "Diferencia",
    "sc.h.how": "Cómo se calcula",
    "sc.licenses": "Licencias",
    "sc.licenses.how": "Licencias iniciales, más las adicionales con onboarding.",
    "sc.arpu": "Ingreso mensual (ARPU)",
    "sc.arpu.how": "Precio de la licencia x licencias.",
    "sc.months": "Meses que se queda el cliente (de {horizon})",
    "sc.months.how": (
        "Meses de pago esperados en el horizonte: (1 - (1 - abandono) ^ {horizon}) / abandono; los {horizon}"
        " sin abandono."
    ),
    "sc.revenue": "Ingresos durante la permanencia (sin descontar)",
    "sc.revenue.how": "Ingreso mensual x meses de permanencia.",
    "sc.gross_profit": "Beneficio bruto durante la permanencia (sin descontar)",
    "sc.gross_profit.how": "Ingresos x margen bruto.",
    "sc.upfront": "Coste inicial (CAC + onboarding)",
    "sc.upfront.how": "Coste de adquisición; con onboarding, más el coste de onboarding.",
    "sc.profit": "Beneficio tras el coste inicial",
    "sc.profit.how": (
        "CLV - coste inicial: donde termina la curva de beneficio acumulado (mes {horizon}). Negativo: no se recupera."
    ),
    "sc.churn": "Tasa de abandono mensual",
    "sc.churn.how": "De la hoja Supuestos: la parte de los clientes que se van cada mes.",
    "sc.clv": "Valor de vida del cliente (CLV, descontado)",
    "sc.clv.how": "Beneficio bruto descontado: CLV(ingreso mensual, abandono, margen, descuento, {horizon}).",
    "sc.ltv_cac": "LTV : CAC",
    "sc.ltv_cac.how": "LTV_CAC(CLV, coste inicial). El onboarding cuenta como coste de adquisición: la vista estricta.",
    "sc.rule": "Regla 3:1 (LTV al menos 3 x CAC)",
    "sc.rule.how": "Steve Blank: un negocio sano gana 3 veces lo que paga por ganar un cliente.",
    "sc.payback": "Recuperación (meses)",
    "sc.payback.how": "PAYBACK(coste inicial, ingreso mensual, margen, abandono, descuento).",
    "sc.roi": "ROI del onboarding",
    "sc.roi.how": "ONBOARDING_ROI(CLV con, CLV sin, coste de onboarding): retorno por unidad gastada.",
    "pass": "CUMPLE",
    "fail": "NO CUMPLE",
    "never": "nunca",
    "na": "-",
    "ch.title": "ROI del onboarding: datos de los gráficos",
    "ch.subtitle": (
        "Beneficio descontado acumulado por cliente (CLV a la fecha - coste inicial): cruza el 0 en la recuperación."
    ),
    "ch.section": "Gráficos",
    "ch.profit.title": "Beneficio acumulado por cliente",
    "ch.profit.x": "Mes",
    "ch.profit.y": "Beneficio acumulado ({cur})",
    "ch.ltv.title": "Valor de vida del cliente frente a coste inicial",
    "ch.ltv.y": "{cur} por cliente",
    "ch.month": "Mes",
    "ch.without": "Sin onboarding",
    "ch.with": "Con onboarding",
    "ch.clv": "Valor de vida del cliente (CLV)",
    "ch.cac": "Coste inicial (CAC + onboarding, si lo hay)",
    "ch.note": (
        "Meses 0 a {horizon}, el horizonte; con un horizonte más corto los meses siguientes muestran #N/A (no se"
        " grafican)."
    ),
    "ch.where": ('Los gráficos leen la hoja oculta "{sheet}" (clic derecho en una pestaña > Mostrar para verla).'),
    "se.title": "ROI del onboarding: sensibilidad",
    "se.subtitle": (
        "Con onboarding, en el horizonte de {horizon} meses. Cambie las tasas de abandono y las licencias en"
        " amarillo; el resto sale de la hoja Supuestos."
    ),
    "se.clv": "Valor de vida del cliente (CLV, descontado)",
    "se.ltv_cac": "LTV : CAC (coste inicial = CAC + onboarding; 3 o más cumple)",
    "se.corner": "Abandono mensual / licencias adicionales",
    "se.note": "Recuadrado: el escenario de la hoja Supuestos (abandono con onboarding, licencias adicionales).",
    "ck.title": "Lista de onboarding",
    "ck.subtitle": (
        "Seis pasos desde la firma hasta el beneficio prometido. Escriba la fecha en que se completa cada paso."
    ),
    "ck.customer": "Cliente",
    "ck.start": "Fecha de inicio del onboarding",
    "ck.target": "Objetivo de tiempo hasta el primer valor (días)",
    "ck.h.n": "#",
    "ck.h.step": "Paso",
    "ck.h.done_means": "Hecho cuando",
    "ck.h.owner": "Responsable",
    "ck.h.target": "Día objetivo",
    "ck.h.done": "Hecho el",
    "ck.h.days": "Días desde el inicio",
    "ck.h.status": "Estado",
    "ck.s1": "Obtener todo lo necesario del cliente",
    "ck.s1.means": "Objetivos, datos, contactos y accesos recibidos.",
    "ck.s1.owner": "Ventas",
    "ck.s2": "Empezar solo cuando se tenga todo",
    "ck.s2.means": "Reunión de arranque sin nada pendiente.",
    "ck.s2.owner": "Responsable de onboarding",
    "ck.s3": "Dar al cliente lo que necesita para empezar",
    "ck.s3.means": "Cuentas, configuración y formación entregadas.",
    "ck.s3.owner": "Especialista de onboarding",
    "ck.s4": "Adopción: primer uso",
    "ck.s4.means": "Primer uso real del producto (tiempo hasta el primer uso).",
    "ck.s4.owner": "Éxito del cliente",
    "ck.s5": "Compromiso: uso regular",
    "ck.s5.means": "Uso semanal; poco tiempo entre usos.",
    "ck.s5.owner": "Éxito del cliente",
    "ck.s6": "Éxito: el beneficio prometido",
    "ck.s6.means": "El cliente confirma el beneficio que compró (primer valor).",
    "ck.s6.owner": "Gestor de cuenta",
    "ck.on_time": "a tiempo",
    "ck.late": "con retraso",
    "ck.open": "pendiente",
    "ck.ttfv": "Tiempo hasta el primer valor (días)",
    "ck.ttfv.how": "TTFV(fecha de inicio, fecha del paso de éxito).",
    "ck.verdict": "Frente al objetivo",
    "ck.within": "dentro del objetivo",
    "ck.over": "fuera del objetivo",
    "ck.not_yet": "aún no alcanzado",
    "he.title": "Salud de los clientes",
    "he.subtitle": (
        "Señales puntuadas de 0 a 100 por cuenta, ponderadas en una sola puntuación. Celdas amarillas: supuestos."
    ),
    "he.red_below": "Rojo por debajo de",
    "he.green_from": "Verde desde",
    "he.vip": "VIP desde MRR",
    "he.core": "Principal desde MRR",
    "he.h.account": "Cuenta",
    "he.h.mrr": "MRR",
    "he.h.potential": "MRR potencial",
    "he.sig1": "Uso",
    "he.sig2": "Adopción",
    "he.sig3": "Soporte",
    "he.sig4": "NPS",
    "he.sig5": "Pagos",
    "he.h.score": "Puntuación",
    "he.h.status": "Estado",
    "he.h.segment": "Segmento",
    "he.weights": "Peso de la señal",
    "label.red": "rojo",
    "label.yellow": "amarillo",
    "label.green": "verde",
    "label.VIP": "VIP",
    "label.potential": "potencial",
    "label.core": "principal",
    "label.non-core": "secundario",
}

STRINGS: dict[str, dict[str, str]] = {"en": _EN, "es": _ES}


def strings(lang: str) -> dict[str, str]:
    """The strings of one language (KeyError for an unknown one).

    Examples
    --------
    >>> strings("es")["sheet.inputs"]
    'Supuestos'
    """
    return STRINGS[lang]


@dataclass(frozen=True)
class Money:
    """How amounts are written: the symbol, on which side, and the label of units and axes."""

    symbol: str
    after: bool  # 1.200 € rather than €1,200
    label: str  # "$", "EUR", "MXN": what unit columns and axis titles say


# ISO 4217 code -> (symbol, symbol after the amount in English, in Spanish). Spanish follows
# the usage of the currency's country: 1.200 € in Spain, $1,200 in Mexico.
CURRENCIES: dict[str, tuple[str, bool, bool]] = {
    "USD": ("$", False, False),
    "EUR": ("€", False, True),
    "MXN": ("$", False, False),
    "GBP": ("£", False, False),
    "JPY": ("¥", False, False),
    "CAD": ("$", False, False),
    "AUD": ("$", False, False),
    "CHF": ("CHF", True, True),
    "COP": ("$", False, False),
    "CLP": ("$", False, False),
    "ARS": ("$", False, False),
    "PEN": ("S/", False, False),
    "BRL": ("R$", False, False),
    "INR": ("₹", False, False),
}
_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}


def money_for(currency: str, lang: str) -> Money:
    """The number-format convention of ``currency`` (an ISO code or a symbol) in ``lang``.

    >>> money_for("EUR", "es"), money_for("EUR", "en").after, money_for("MXN", "es").symbol
    (Money(symbol='€', after=True, label='EUR'), False, '$')
    >>> money_for("$", "en")
    Money(symbol='$', after=False, label='$')
    """
    code = currency.upper()
    if code in CURRENCIES:
        symbol, after_en, after_es = CURRENCIES[code]
        return Money(symbol, after_es if lang == "es" else after_en, code)
    if currency in _SYMBOLS:
        symbol, after_en, after_es = CURRENCIES[_SYMBOLS[currency]]
        return Money(currency, after_es if lang == "es" else after_en, currency)
    # Another symbol or code: English puts it first, Spanish after the amount.
    return Money(currency, lang == "es", currency)


def check_currency(currency: str) -> str:
    """``currency`` if it is a known ISO code (any case) or a symbol of 1 to 4 characters.

    Raises ValueError with one line otherwise.
    """
    if currency.upper() in CURRENCIES or (
        1 <= len(currency) <= 4 and currency.strip() == currency and currency.isprintable() and '"' not in currency
    ):
        return currency.upper() if currency.upper() in CURRENCIES else currency
    known = ", ".join(CURRENCIES)
    raise ValueError(f"--currency must be an ISO code ({known}) or a symbol of 1 to 4 characters, got {currency!r}")
